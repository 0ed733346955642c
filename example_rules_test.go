package acache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/acachecontrol/acache"
)

// An API that sends no caching headers: a rule caches its 404s for a minute
// and never its 5xx, and WithDefaultFreshness keeps its other responses for
// ten seconds.
func ExampleWithRule() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	defer server.Close()
	cache := acache.NewCache(nil,
		acache.WithDefaultFreshness(10*time.Second),
		acache.WithRule(func(req *http.Request, resp *http.Response) acache.Rule {
			switch {
			case resp.StatusCode == http.StatusNotFound:
				return acache.Rule{FreshFor: time.Minute}
			case resp.StatusCode >= 500:
				return acache.Rule{Store: acache.StoreNever}
			}
			return acache.Rule{}
		}))
	client := &http.Client{Transport: acache.NewTransport(cache)}
	for _, path := range []string{"/", "/", "/missing", "/missing", "/broken", "/broken"} {
		resp, err := client.Get(server.URL + path)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Printf("%-8s %d hit=%v\n", path, resp.StatusCode, status.Hit)
	}
	// Output:
	// /        200 hit=false
	// /        200 hit=true
	// /missing 404 hit=false
	// /missing 404 hit=true
	// /broken  503 hit=false
	// /broken  503 hit=false
}
