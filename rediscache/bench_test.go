package rediscache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
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

// BenchmarkGetDeadline measures Store.Get of a 1 KiB entry under a
// one-second deadline, called on the benchmark's goroutine, over a client
// with go-redis's ContextTimeoutEnabled off (the default: the deadline does
// not reach the socket, ReadTimeout does) and on (the deadline bounds the
// read), and, with it off, run as the Cache runs a Get today: in a
// goroutine of its own that the caller waits for under a timer.
func BenchmarkGetDeadline(b *testing.B) {
	for _, tc := range []struct {
		name     string
		enabled  bool
		detached bool
	}{
		{"ContextTimeoutEnabled=false", false, false},
		{"ContextTimeoutEnabled=true", true, false},
		{"ContextTimeoutEnabled=false,detached", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, key := getBench(b, tc.enabled)
			get := func(ctx context.Context) {
				callCtx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				if e, err := s.Get(callCtx, key); err != nil || e == nil {
					b.Errorf("Get = %v, %v; want the stored entry", e, err)
				}
			}
			if tc.detached {
				get = detachedGet(get)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b.Context())
				}
			})
		})
	}
}

// getBench returns a Store over a client of its own, with ContextTimeoutEnabled
// as enabled, and the key of a 1 KiB entry it holds.
func getBench(b *testing.B, enabled bool) (*Store, string) {
	client := redis.NewClient(&redis.Options{Addr: redisAddr(b), ContextTimeoutEnabled: enabled})
	b.Cleanup(func() { client.Close() })
	s := New(client, WithPrefix(newPrefix(b, client)))
	b.Cleanup(func() { s.Close() })
	const key = "GET http://example.com/bench"
	if err := s.Set(b.Context(), key, testEntry(key, 1024)); err != nil {
		b.Fatal(err)
	}
	return s, key
}

// detachedGet returns get as the Cache calls a backend that may ignore its
// context: in a goroutine of its own, waited for under a timer.
func detachedGet(get func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			get(ctx)
		}()
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		select {
		case <-finished:
		case <-timer.C:
		case <-ctx.Done():
		}
	}
}

// BenchmarkHitContextTimeout is BenchmarkHit1KiBParallel over a client with
// ContextTimeoutEnabled off and on: the Cache runs the Get in a goroutine
// either way, so it measures what the option itself costs a hit.
func BenchmarkHitContextTimeout(b *testing.B) {
	for _, enabled := range []bool{false, true} {
		b.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", enabled), func(b *testing.B) {
			client := redis.NewClient(&redis.Options{Addr: redisAddr(b), ContextTimeoutEnabled: enabled})
			b.Cleanup(func() { client.Close() })
			o := newOrigin(b, 1024, cacheable)
			store := New(client, WithPrefix(newPrefix(b, client)))
			transport := acache.NewTransport(acache.NewCache(store))
			b.Cleanup(func() {
				transport.Close()
				store.Close()
			})
			fetch(b, transport, o.URL+"/hit")
			req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, o.URL+"/hit", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					roundTrip(b, transport, req)
				}
			})
		})
	}
}
