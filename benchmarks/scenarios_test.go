package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// origin is a loopback server whose responses are 1 KiB, fresh for an hour,
// with a validator (under /big/, 256 KiB; under /stale/, already stale, so
// that every request revalidates, and answered 304 when the validator
// matches); it counts the requests it answers, so that a benchmark can prove
// its hits were hits.
type origin struct {
	*httptest.Server
	requests atomic.Int64
	inner    *http.Transport
}

var (
	body1KiB   = strings.Repeat("x", 1024)
	body256KiB = strings.Repeat("y", 256<<10)
)

func newOrigin(tb testing.TB) *origin {
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case strings.HasPrefix(r.URL.Path, "/big/"):
			io.WriteString(w, body256KiB)
		case strings.HasPrefix(r.URL.Path, "/stale/"):
			w.Header().Set("Cache-Control", "max-age=0")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			io.WriteString(w, body1KiB)
		default:
			io.WriteString(w, body1KiB)
		}
	}))
	o.inner = &http.Transport{MaxIdleConnsPerHost: 64}
	tb.Cleanup(func() {
		o.inner.CloseIdleConnections()
		o.Close()
	})
	return o
}

// get fetches url through rt and reads and closes the body, failing tb on
// an error or a body that is not the origin's.
//
// It reads the body as a client does (io.ReadAll, a JSON decoder, a
// bufio.Reader): with Read, into a buffer. io.Copy to io.Discard would not
// touch the bytes of a body that is a bytes.Reader (WriterTo hands the
// whole slice to Discard at once), so a hit of 256 KiB would cost what one
// of 1 KiB does whether or not the cache copies the body.
func get(tb testing.TB, rt http.RoundTripper, url string) {
	want := len(body1KiB)
	if strings.Contains(url, "/big/") {
		want = len(body256KiB)
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	buf := readBuffers.Get().(*[32 << 10]byte)
	n, err := io.CopyBuffer(io.Discard, onlyReader{resp.Body}, buf[:])
	readBuffers.Put(buf)
	resp.Body.Close()
	if err != nil || n != int64(want) {
		tb.Fatalf("GET %s: read %d bytes, %v; want %d", url, n, err, want)
	}
}

// onlyReader hides every method of its Reader but Read.
type onlyReader struct{ io.Reader }

// readBuffers holds the buffers get reads bodies into, as a client reuses
// its buffers.
var readBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// BenchmarkHit1KiB: a fresh stored response, served again and again.
func BenchmarkHit1KiB(b *testing.B) { benchHit(b, "/hit") }

// BenchmarkHit256KiB: the same with a 256 KiB body, where a copy of the
// body per hit would show.
func BenchmarkHit256KiB(b *testing.B) { benchHit(b, "/big/hit") }

func benchHit(b *testing.B, path string) {
	for _, impl := range implementations(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			o := newOrigin(b)
			rt := impl.new(b, o.inner)
			url := o.URL + path
			get(b, rt, url)
			get(b, rt, url) // the store of some caches lands by now
			before := o.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get(b, rt, url)
			}
			b.StopTimer()
			if n := o.requests.Load() - before; n != 0 {
				b.Fatalf("the origin answered %d requests during the timed loop: %s missed", n, impl.name)
			}
		})
	}
}

// BenchmarkHit1KiBParallel: hits over 1,000 stored responses from every core.
func BenchmarkHit1KiBParallel(b *testing.B) {
	const keys = 1000
	for _, impl := range implementations(b) {
		if impl.serial {
			continue // not safe for concurrent use
		}
		b.Run("impl="+impl.name, func(b *testing.B) {
			o := newOrigin(b)
			rt := impl.new(b, o.inner)
			for i := range keys {
				get(b, rt, fmt.Sprintf("%s/k/%d", o.URL, i))
			}
			for i := range keys {
				get(b, rt, fmt.Sprintf("%s/k/%d", o.URL, i))
			}
			before := o.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(7919)
				for pb.Next() {
					i++
					get(b, rt, fmt.Sprintf("%s/k/%d", o.URL, i%keys))
				}
			})
			b.StopTimer()
			if n := o.requests.Load() - before; n != 0 {
				b.Fatalf("the origin answered %d requests during the timed loop: %s missed", n, impl.name)
			}
		})
	}
}

// BenchmarkRevalidate304: a stored response that is stale on every request,
// revalidated each time with its ETag; the origin answers 304.
func BenchmarkRevalidate304(b *testing.B) {
	for _, impl := range implementations(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			o := newOrigin(b)
			rt := impl.new(b, o.inner)
			url := o.URL + "/stale/r"
			get(b, rt, url)
			get(b, rt, url)
			before := o.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get(b, rt, url)
			}
			b.StopTimer()
			if n := o.requests.Load() - before; n != int64(b.N) {
				b.Fatalf("the origin answered %d requests for %d revalidations", n, b.N)
			}
		})
	}
}

// BenchmarkHeapPerEntry stores heapEntries responses of 1 KiB (limits raised
// to hold them all) and reports the heap each one takes, for the
// implementations that keep entries in memory. Run it with -benchtime=1x.
func BenchmarkHeapPerEntry(b *testing.B) {
	const heapEntries = 100_000
	for _, impl := range implementations(b) {
		if !impl.inMemory {
			continue
		}
		b.Run("impl="+impl.name, func(b *testing.B) {
			for b.Loop() {
				o := newOrigin(b)
				rt := impl.new(b, o.inner)
				before := heapInUse()
				for i := range heapEntries {
					get(b, rt, fmt.Sprintf("%s/heap/%d", o.URL, i))
				}
				after := heapInUse()
				get(b, rt, o.URL+"/heap/0")
				if o.requests.Load() != heapEntries {
					b.Fatalf("the origin answered %d requests for %d new URLs and one repeat: not all were stored", o.requests.Load(), heapEntries)
				}
				b.ReportMetric(float64(after-before)/heapEntries, "heap-B/entry")
				runtime.KeepAlive(rt)
			}
		})
	}
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkMissStore1KiB: a new URL each time, fetched and stored.
func BenchmarkMissStore1KiB(b *testing.B) {
	for _, impl := range implementations(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			o := newOrigin(b)
			rt := impl.new(b, o.inner)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				get(b, rt, fmt.Sprintf("%s/miss/%d", o.URL, i))
			}
		})
	}
}

// TestScenariosHit runs each implementation once through the hit scenario,
// so that a broken harness shows in the tests and not only in a benchmark.
func TestScenariosHit(t *testing.T) {
	if redisAddr() == "" && inCI() {
		t.Fatal("ACACHE_REDIS_ADDR is not set: CI must measure the Redis backends too")
	}
	for _, impl := range implementations(t) {
		t.Run(impl.name, func(t *testing.T) {
			o := newOrigin(t)
			rt := impl.new(t, o.inner)
			for range 3 {
				get(t, rt, o.URL+"/a")
			}
			if impl.name == "floor" || strings.HasPrefix(impl.name, "acache") {
				// acache stores at the end of the body; gregjones too, but
				// its disk store may land after the next request starts.
				if n := o.requests.Load(); n != 1 {
					t.Fatalf("%s: the origin answered %d requests for three GETs of a fresh response; want 1", impl.name, n)
				}
			}
			if n := o.requests.Load(); n > 2 {
				t.Fatalf("%s: the origin answered %d requests for three GETs of a fresh response", impl.name, n)
			}
		})
	}
}

func inCI() bool { return strings.EqualFold(os.Getenv("CI"), "true") }

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// deleteRedisKeys deletes every key that matches pattern on the Redis server.
func deleteRedisKeys(tb testing.TB, pattern string) {
	client := goredis.NewClient(&goredis.Options{Addr: redisAddr()})
	defer client.Close()
	ctx := context.Background()
	iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("scanning Redis keys matching %q: %v", pattern, err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := client.Del(ctx, keys[:n]...).Err(); err != nil {
			tb.Errorf("deleting Redis keys matching %q: %v", pattern, err)
			return
		}
		keys = keys[n:]
	}
}
