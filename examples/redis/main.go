// Command redis shows one cache shared by several processes through Redis:
// two Transports, each with its own Cache and its own Redis client as two
// processes would have, over one Redis server. The first fetches a URL from
// the origin and stores it; the second is served from Redis.
//
//	go run ./examples/redis -addr 127.0.0.1:6379
//
// Without a Redis server the program still works: every request is answered
// by the origin, and the cache counts the failures instead of returning them.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/rediscache"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", envOr("ACACHE_REDIS_ADDR", "127.0.0.1:6379"), "the Redis server (host:port)")
	prefix := flag.String("prefix", "acache-example", "the prefix of the cache's Redis keys")
	flag.Parse()

	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow origin makes the hit visible
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "made at %s\n", time.Now().Format(time.TimeOnly))
	}))
	defer origin.Close()
	url := fmt.Sprintf("%s/shared/%d", origin.URL, time.Now().UnixNano())

	for _, name := range []string{"process A", "process B"} {
		// No retries, and timeouts shorter than the backend timeout: a
		// cache miss is cheaper than a retry (see the README).
		client := redis.NewClient(&redis.Options{
			Addr:                  *addr,
			ContextTimeoutEnabled: true, // calls end at the Cache's deadlines
			MaxRetries:            -1,
			DialerRetries:         1,
			DialTimeout:           100 * time.Millisecond,
			ReadTimeout:           200 * time.Millisecond,
			WriteTimeout:          200 * time.Millisecond,
			PoolTimeout:           200 * time.Millisecond,
		})
		store := rediscache.New(client, rediscache.WithPrefix(*prefix))
		cache := acache.NewCache(store, acache.WithBackendTimeout(300*time.Millisecond))

		start := time.Now()
		resp, err := (&http.Client{Transport: acache.NewTransport(cache)}).Get(url)
		if err != nil {
			log.Fatal(err) // never the cache's failure: the origin's
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s", name, body)
		fmt.Printf("  in %v, Cache-Status: %s\n", time.Since(start).Round(time.Microsecond), resp.Header.Get("Cache-Status"))
		fmt.Printf("  origin requests so far: %d, cache errors: %d\n", originHits.Load(), cache.Stats().Errors)

		cache.Close()
		store.Close()
		client.Close()
	}
	if originHits.Load() > 1 {
		fmt.Printf("Redis at %s did not answer: both processes went to the origin, and nothing failed\n", *addr)
	} else {
		fmt.Printf("process B was served what process A stored in Redis at %s\n", *addr)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
