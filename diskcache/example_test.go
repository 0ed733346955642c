package diskcache_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/diskcache"
)

// Example stores a response on disk and serves the second request for it
// from there.
func Example() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "hello from the origin")
	}))
	defer origin.Close()

	dir, err := os.MkdirTemp("", "acache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := diskcache.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	transport := acache.NewTransport(acache.NewCache(store))
	defer transport.Close()
	client := &http.Client{Transport: transport}

	for range 2 {
		resp, err := client.Get(origin.URL)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Printf("%s (hit: %v)\n", body, status.Hit)
	}
	// Output:
	// hello from the origin (hit: false)
	// hello from the origin (hit: true)
}
