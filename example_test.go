package acache_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

// origin starts a loopback server that counts its requests and answers with
// the given Cache-Control.
func origin(cacheControl string, hits *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", cacheControl)
		fmt.Fprint(w, "hello")
	}))
}

func get(client *http.Client, url string) *http.Response {
	resp, err := client.Get(url)
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// The whole set-up: swap the client's transport. The second request is
// answered from the cache.
func Example() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()

	client := &http.Client{Transport: acache.NewTransport(nil)}
	first := get(client, server.URL)
	second := get(client, server.URL)

	fmt.Println("origin requests:", hits.Load())
	fmt.Printf("first: %s\nsecond: %s\n", first.Header.Get("Cache-Status"), second.Header.Get("Cache-Status"))
	// Output:
	// origin requests: 1
	// first: acache; fwd=uri-miss; fwd-status=200; stored; ttl=60
	// second: acache; hit; ttl=60
}

// A Transport stacks on any RoundTripper: here a logging one sees only the
// requests the cache could not answer.
func ExampleTransport() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()

	logging := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		fmt.Println("to origin:", req.Method, req.URL.Path)
		return http.DefaultTransport.RoundTrip(req)
	})
	client := &http.Client{Transport: &acache.Transport{Transport: logging}}
	for range 3 {
		get(client, server.URL+"/page")
	}
	// Output:
	// to origin: GET /page
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// NewCache takes a Backend (nil for the default LRU) and options for the
// limits, the cache's mode and where failures are reported.
func ExampleNewCache() {
	var hits atomic.Int64
	server := origin("public, s-maxage=300, max-age=0", &hits)
	defer server.Close()

	cache := acache.NewCache(nil,
		acache.WithShared(), // s-maxage applies, private responses are not stored
		acache.WithMaxEntries(1000),
		acache.WithMaxBytes(32<<20),
		acache.WithMaxBodySize(1<<20),
		acache.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	get(client, server.URL)
	get(client, server.URL)

	stats := cache.Stats()
	fmt.Printf("origin requests: %d, hits: %d, stores: %d\n", hits.Load(), stats.Hits, stats.Stores)
	// Output:
	// origin requests: 1, hits: 1, stores: 1
}

// CacheStatusOf reads the RFC 9211 Cache-Status member acache added, for code
// that wants to know how a response was produced without parsing headers.
func ExampleCacheStatusOf() {
	var hits atomic.Int64
	server := origin("no-store", &hits)
	defer server.Close()

	client := &http.Client{Transport: acache.NewTransport(nil)}
	resp := get(client, server.URL)
	status, _ := acache.CacheStatusOf(resp)
	fmt.Printf("hit=%v fwd=%s fwd-status=%d stored=%v detail=%q\n",
		status.Hit, status.Fwd, status.FwdStatus, status.Stored, status.Detail)
	// Output:
	// hit=false fwd=uri-miss fwd-status=200 stored=false detail="no-store"
}
