package rediscache_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/rediscache"
	"github.com/redis/go-redis/v9"
)

// An HTTP client whose responses are cached in Redis, shared by every
// process that uses the same prefix. (Compiled, not run: it needs a Redis
// server.)
func Example() {
	// Any redis.UniversalClient: a *redis.Client, a failover (Sentinel)
	// client or a *redis.ClusterClient. Calls that end at their contexts'
	// deadlines, and short timeouts, keep a Redis that is down from slowing
	// requests, which then go to the origin.
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"127.0.0.1:6379"},
		ContextTimeoutEnabled: true,
		DialTimeout:           200 * time.Millisecond,
		ReadTimeout:           200 * time.Millisecond,
		WriteTimeout:          200 * time.Millisecond,
	})
	defer client.Close() // the caller owns the client, after the Store

	store := rediscache.New(client,
		rediscache.WithPrefix("myapp-http"),
		rediscache.WithIdleTTL(6*time.Hour))
	defer store.Close()

	// The Cache's limits bound the whole store, whoever filled it.
	cache := acache.NewCache(store,
		acache.WithMaxBytes(512<<20),
		acache.WithBackendTimeout(300*time.Millisecond))
	transport := acache.NewTransport(cache)
	defer transport.Close()

	resp, err := (&http.Client{Transport: transport}).Get("https://example.com/")
	if err != nil {
		fmt.Println(err) // the origin's failure: the cache's are never returned
		return
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	status, _ := acache.CacheStatusOf(resp)
	fmt.Println("hit:", status.Hit)
}
