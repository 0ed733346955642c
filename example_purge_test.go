package acache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

// getAs sends a GET with the given request header fields, reads the body
// and closes it.
func getAs(client *http.Client, url string, fields ...string) *http.Response {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Header.Set(fields[i], fields[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body) // a response is stored once its body is read to the end
	resp.Body.Close()
	return resp
}

// Purge removes what is stored for a URL: here the shared response and the
// one stored for a user's credentials, so both go to the origin again.
func ExampleCache_Purge() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()

	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	page := server.URL + "/page"
	get(client, page)
	get(client, page)
	getAs(client, page, "Authorization", "Bearer alice")
	getAs(client, page, "Authorization", "Bearer alice")
	fmt.Println("origin requests before the purge:", hits.Load())

	if err := cache.Purge(context.Background(), page); err != nil {
		panic(err)
	}
	get(client, page)
	resp := getAs(client, page, "Authorization", "Bearer alice")
	fmt.Println("origin requests after the purge:", hits.Load())
	status, _ := acache.CacheStatusOf(resp)
	fmt.Println("served from the cache:", status.Hit)
	// Output:
	// origin requests before the purge: 2
	// origin requests after the purge: 4
	// served from the cache: false
}

// Inspect lists what a Cache holds for a URL: each response selected by Vary,
// and those stored for one user's credentials, without saying whose.
func ExampleCache_Inspect() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "hello in ", r.Header.Get("Accept-Language"))
	}))
	defer server.Close()

	cache := acache.NewCache(nil)
	client := &http.Client{Transport: acache.NewTransport(cache)}
	getAs(client, server.URL, "Accept-Language", "en")
	getAs(client, server.URL, "Accept-Language", "fr")
	getAs(client, server.URL, "Accept-Language", "en", "Authorization", "Bearer alice")

	stored, err := cache.Inspect(context.Background(), server.URL)
	if err != nil {
		panic(err)
	}
	for _, s := range stored {
		fmt.Printf("%s %d Accept-Language=%s partitioned=%v size>0=%v\n",
			s.Method, s.StatusCode, s.VaryHeader.Get("Accept-Language"), s.Partitioned, s.Size > 0)
	}
	// Output:
	// GET 200 Accept-Language=fr partitioned=false size>0=true
	// GET 200 Accept-Language=en partitioned=false size>0=true
	// GET 200 Accept-Language=en partitioned=true size>0=true
}
