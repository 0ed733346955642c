package acache_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
)

// WithMaxFreshness caps what the origin says: a response fresh for an hour
// is revalidated after a second anyway.
func ExampleWithMaxFreshness() {
	var hits atomic.Int64
	server := origin("max-age=3600", &hits)
	defer server.Close()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cache := acache.NewCache(nil,
		acache.WithMaxFreshness(time.Second),
		acache.WithClock(func() time.Time { return now }))
	client := &http.Client{Transport: acache.NewTransport(cache)}
	get(client, server.URL)
	get(client, server.URL)
	fmt.Println("within the cap, origin requests:", hits.Load())
	now = now.Add(2 * time.Second)
	get(client, server.URL)
	fmt.Println("past the cap, origin requests:", hits.Load())
	// Output:
	// within the cap, origin requests: 1
	// past the cap, origin requests: 2
}

// Clear empties the cache: every stored response, for every user.
func ExampleCache_Clear() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()
	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	get(client, server.URL+"/a")
	get(client, server.URL+"/b")
	if err := cache.Clear(context.Background()); err != nil {
		panic(err)
	}
	get(client, server.URL+"/a")
	fmt.Println("origin requests:", hits.Load(), "bytes stored:", cache.Stats().Bytes > 0)
	// Output:
	// origin requests: 3 bytes stored: true
}

// With a logger enabled for Debug, each decision is one record with stable
// attribute names (here a few of them, for a miss and a hit).
func ExampleWithLogger() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()
	keep := map[string]bool{"msg": true, "action": true, "status": true, "fwd": true, "stored": true}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if !keep[a.Key] {
				return slog.Attr{} // drop the time, the URL (a random port) and the rest
			}
			return a
		},
	}))
	client := &http.Client{Transport: acache.NewTransport(acache.NewCache(nil, acache.WithLogger(logger)))}
	get(client, server.URL)
	get(client, server.URL)
	// Output:
	// msg="acache: decision" action=forward status=200 fwd=uri-miss stored=true
	// msg="acache: decision" action=hit status=200 fwd="" stored=false
}
