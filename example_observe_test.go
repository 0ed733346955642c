package acache_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/acachecontrol/acache"
)

// observed starts a loopback origin with a cacheable page, /news, and one
// that must not be stored, /account.
func observed() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/news":
			w.Header().Set("Cache-Control", "max-age=300")
		case "/account":
			w.Header().Set("Cache-Control", "no-store")
		}
		fmt.Fprint(w, "hello")
	}))
}

// Stats counts what the Cache did: hits, misses, stores, and the responses
// it refused to store, by reason.
func ExampleCache_Stats() {
	server := observed()
	defer server.Close()

	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	for _, path := range []string{"/news", "/news", "/news", "/account", "/account"} {
		get(client, server.URL+path)
	}

	s := cache.Stats()
	fmt.Printf("hits %d, misses %d, stores %d\n", s.Hits, s.Misses, s.Stores)
	fmt.Printf("refused %d: %v\n", s.Refusals, s.RefusalsByReason)
	// Output:
	// hits 2, misses 3, stores 1
	// refused 2: map[no-store:2]
}

// Explain answers "why was this not cached?" for a response the Transport
// returned, and says how long a stored one stays fresh.
func ExampleCache_Explain() {
	server := observed()
	defer server.Close()

	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}

	news := cache.Explain(get(client, server.URL+"/news"))
	fmt.Printf("/news: stored %v, fresh for %v (%s)\n", news.Stored, news.FreshFor, news.FreshnessFrom)

	account := cache.Explain(get(client, server.URL+"/account"))
	fmt.Printf("/account: stored %v, because %s\n", account.Stored, account.Status.Detail)
	fmt.Println(account)
	// Output:
	// /news: stored true, fresh for 5m0s (max-age)
	// /account: stored false, because no-store
	// Not stored: no-store: the response's Cache-Control says no-store (RFC 9111 §5.2.2.5).
}

// Stats are plain data: they marshal to JSON, for a debug endpoint or
// expvar. The package does not import expvar (whose init serves the
// process's command line at /debug/vars); a program that wants it there
// publishes the Stats itself:
//
//	expvar.Publish("acache", expvar.Func(func() any { return cache.Stats() }))
func ExampleCache_Stats_json() {
	server := observed()
	defer server.Close()

	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	get(client, server.URL+"/news")
	get(client, server.URL+"/news")

	b, err := json.Marshal(cache.Stats())
	if err != nil {
		panic(err)
	}
	var stats struct{ Hits, Misses, Stores int64 }
	if err := json.Unmarshal(b, &stats); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", stats)
	// Output:
	// {Hits:1 Misses:1 Stores:1}
}
