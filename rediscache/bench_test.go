package rediscache

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkGet measures Store.Get of a stored entry with a 1 KiB body: one
// round trip and the decoding.
func BenchmarkGet(b *testing.B) {
	client := newClient(b)
	s := New(client, WithPrefix(newPrefix(b, client)))
	b.Cleanup(func() { s.Close() })
	ctx := b.Context()
	const key = "GET http://example.com/bench"
	if err := s.Set(ctx, key, testEntry(key, 1024)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := s.Get(ctx, key)
		if err != nil || e == nil {
			b.Fatalf("Get = %v, %v; want the stored entry", e, err)
		}
	}
}

// hitBench sets up a Transport over a Store with one 1 KiB response stored,
// and returns the request that hits it and the origin, whose count the
// timed loop must not change.
func hitBench(b *testing.B) (http.RoundTripper, *http.Request, *origin) {
	addr := redisAddr(b)
	client := newClient(b)
	o := newOrigin(b, 1024, cacheable)
	transport, _, _ := newTransport(b, addr, newPrefix(b, client))
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, o.URL+"/hit", nil)
	if err != nil {
		b.Fatal(err)
	}
	fetch(b, transport, o.URL+"/hit")
	if resp, _ := fetch(b, transport, o.URL+"/hit"); !hit(resp) {
		b.Fatal("the second request was not a hit")
	}
	return transport, req, o
}

// roundTrip makes one request and reads its body, failing b unless it was
// a hit.
func roundTrip(b *testing.B, rt http.RoundTripper, req *http.Request) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !hit(resp) {
		b.Fatal("a request in the timed loop was not a hit")
	}
}

// BenchmarkHit1KiB measures a hit on a 1 KiB response through an
// acache.Transport: one GET, the decoding, the Cache's checks and the
// response.
func BenchmarkHit1KiB(b *testing.B) {
	rt, req, o := hitBench(b)
	before := o.requests.Load()
	b.ReportAllocs()
	for b.Loop() {
		roundTrip(b, rt, req)
	}
	if n := o.requests.Load() - before; n != 0 {
		b.Fatalf("%d requests reached the origin in the timed loop; want 0", n)
	}
}

// BenchmarkHit1KiBParallel is BenchmarkHit1KiB from GOMAXPROCS goroutines.
func BenchmarkHit1KiBParallel(b *testing.B) {
	rt, req, o := hitBench(b)
	before := o.requests.Load()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			roundTrip(b, rt, req)
		}
	})
	b.StopTimer()
	if n := o.requests.Load() - before; n != 0 {
		b.Fatalf("%d requests reached the origin in the timed loop; want 0", n)
	}
}
