// Command consumer is what .ci/run builds outside the repository against
// the modules as a release serves them: from a module proxy, with no
// replace and no go.work, as a user's `go get` resolves them. It caches
// through each backend and checks that the second request is a hit.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/diskcache"
	"github.com/acachecontrol/acache/rediscache"
	"github.com/redis/go-redis/v9"
)

func main() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello from the origin")
	}))
	defer origin.Close()
	dir, err := os.MkdirTemp("", "acache-consumer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	disk, err := diskcache.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer disk.Close()
	shared := rediscache.New(redis.NewClient(&redis.Options{Addr: os.Getenv("ACACHE_REDIS_ADDR")}),
		rediscache.WithPrefix(fmt.Sprintf("consumer-%d", os.Getpid())))
	defer shared.Close()
	for name, backend := range map[string]acache.Backend{"memory": nil, "diskcache": disk, "rediscache": shared} {
		client := &http.Client{Transport: acache.NewTransport(acache.NewCache(backend))}
		for i := range 2 {
			resp, err := client.Get(origin.URL + "/" + name)
			if err != nil {
				log.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status, _ := acache.CacheStatusOf(resp)
			if hit := status.Hit; hit != (i == 1) {
				log.Fatalf("%s: request %d: hit=%v, Cache-Status %q", name, i+1, hit, resp.Header["Cache-Status"])
			}
		}
		fmt.Printf("consumer: %s: the second request was a hit\n", name)
	}
}
