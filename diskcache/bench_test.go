package diskcache

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
)

// BenchmarkGet measures a lookup of a stored entry with a 1 KiB body: Warm
// finds it decoded in memory (stored or read before by this process), Cold
// reads and decodes it from the file, as the first hit after a restart does.
func BenchmarkGet(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "Warm"
		if cold {
			name = "Cold"
		}
		b.Run(name, func(b *testing.B) {
			s := openTemp(b)
			ctx := b.Context()
			const keys = 1000
			for i := range keys {
				key := fmt.Sprintf("https://example.com/%d", i)
				if err := s.Set(ctx, key, testEntry(key, 1024)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if cold {
					s.db.memory.removed(&slot{}) // a new generation: nothing read is kept
					s.db.memory.entries = nil
				}
				e, err := s.Get(ctx, fmt.Sprintf("https://example.com/%d", i%keys))
				if err != nil || e == nil {
					b.Fatalf("Get = %v, %v", e, err)
				}
				i++
			}
		})
	}
}

// BenchmarkSet measures a store of an entry with a 1 KiB body: one write
// transaction committed with fsync, which is most of its cost. Parallel runs
// the stores from GOMAXPROCS goroutines, sharing commits.
func BenchmarkSet(b *testing.B) {
	b.Run("Serial", func(b *testing.B) {
		s := openTemp(b)
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			key := fmt.Sprintf("https://example.com/%d", i%1000)
			if err := s.Set(ctx, key, testEntry(key, 1024)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		s := openTemp(b)
		ctx := b.Context()
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(8) // 8 goroutines per GOMAXPROCS
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := fmt.Sprintf("https://example.com/%d", n.Add(1)%1000)
				if err := s.Set(ctx, key, testEntry(key, 1024)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkHit1KiB measures a hit on a 1 KiB response through
// acache.Transport.RoundTrip over a Store, as the root package's benchmark of
// the same name does over the LRU: the figure to compare with
// gregjones/httpcache's diskcache.
func BenchmarkHit1KiB(b *testing.B) {
	o := newOrigin(b, []byte(strings.Repeat("x", 1024)))
	tr := newTransport(b, openTemp(b))
	req, err := http.NewRequest("GET", o.URL+"/hit", nil)
	if err != nil {
		b.Fatal(err)
	}
	get := func() *http.Response {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get() // stores it
	if status, _ := acache.CacheStatusOf(get()); !status.Hit {
		b.Fatal("the warm-up did not store the response")
	}
	before := o.requests.Load()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		get()
		if i++; i%8 == 0 {
			// Let the Cache's background MoveToEnd goroutines (one per
			// hit) run, as a caller that waits for the network between
			// requests does: a tight loop starves them until they fill
			// the Cache's 512 slots for backend calls, and lookups become
			// misses (most often while a flush of moves is in its fsync).
			runtime.Gosched()
		}
	}
	if n := o.requests.Load() - before; n != 0 {
		b.Fatalf("the origin got %d requests during the timed loop; want none (hits)", n)
	}
}

// BenchmarkOpen measures an Open and a Close of a store of 10,000 entries
// with 1 KiB bodies: most of it is the check of the file (see "Damage" in
// the package documentation), which reads its every tree page; the MB/s are
// of the file.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	err = s.db.update(func(bk buckets) error { // one transaction: quicker than 10,000 commits
		for i := range 10_000 {
			key := fmt.Sprintf("https://example.com/%d", i)
			encoding, err := testEntry(key, 1024).MarshalBinary()
			if err != nil {
				return err
			}
			sl := slotOf(key)
			if err := bk.put(&sl, encodeRecord(key, encoding), 1024, 0); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, fileName))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir)
		if err != nil || s.Damage() != nil {
			b.Fatal(err, s.Damage())
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
