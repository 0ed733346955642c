package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/httpcache"
)

// Code written for gregjones/httpcache keeps its shape with a change of
// import: the constructor, the MarkCachedResponses field and the
// X-From-Cache marker.
func ExampleNewMemoryCacheTransport() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	}))
	defer server.Close()

	t := httpcache.NewMemoryCacheTransport()
	t.MarkCachedResponses = true
	client := &http.Client{Transport: t}
	for range 2 {
		resp, err := client.Get(server.URL)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %q\n", httpcache.XFromCache, resp.Header.Get(httpcache.XFromCache))
	}
	// Output:
	// X-From-Cache: ""
	// X-From-Cache: "1"
}

// A store written for gregjones/httpcache (its diskcache, redis, memcache
// or leveldbcache, or one of your own: here a map) under acache's native
// API, with limits of its own.
func ExampleNewBackend() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	}))
	defer server.Close()

	var store httpcache.Cache = mapStore{} // e.g. diskcache.New(dir)
	cache := acache.NewCache(httpcache.NewBackend(store), acache.WithMaxEntries(1000), acache.WithMaxBytes(256<<20))
	defer cache.Close()
	client := &http.Client{Transport: acache.NewTransport(cache)}
	for range 2 {
		resp, err := client.Get(server.URL)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Println("hit:", status.Hit)
	}
	fmt.Println("stats:", cache.Stats().Hits, "hit,", cache.Stats().Stores, "stored")
	// Output:
	// hit: false
	// hit: true
	// stats: 1 hit, 1 stored
}

// mapStore is a gregjones/httpcache Cache over a map, for ExampleNewBackend.
type mapStore map[string][]byte

func (m mapStore) Get(key string) ([]byte, bool) { b, ok := m[key]; return b, ok }
func (m mapStore) Set(key string, b []byte)      { m[key] = b }
func (m mapStore) Delete(key string)             { delete(m, key) }
