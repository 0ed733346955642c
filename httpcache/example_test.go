package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

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
