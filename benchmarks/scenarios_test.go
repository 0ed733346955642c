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
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// origin is a loopback server whose every response is 1 KiB, fresh for an
// hour, with a validator; it counts the requests it answers, so that a
// benchmark can prove its hits were hits.
type origin struct {
	*httptest.Server
	requests atomic.Int64
	inner    *http.Transport
}

var body1KiB = strings.Repeat("x", 1024)

func newOrigin(tb testing.TB) *origin {
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body1KiB)
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
func get(tb testing.TB, rt http.RoundTripper, url string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(len(body1KiB)) {
		tb.Fatalf("GET %s: read %d bytes, %v; want %d", url, n, err, len(body1KiB))
	}
}

// BenchmarkHit1KiB: a fresh stored response, served again and again.
func BenchmarkHit1KiB(b *testing.B) {
	for _, impl := range implementations(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			o := newOrigin(b)
			rt := impl.new(b, o.inner)
			url := o.URL + "/hit"
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
