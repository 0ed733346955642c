package acache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
)

// A request's Control sets its cache mode, as fetch() does in a browser:
// here one request reloads from the origin, and one accepts only what is
// stored.
func ExampleWithControl() {
	var hits atomic.Int64
	server := origin("max-age=60", &hits)
	defer server.Close()
	client := &http.Client{Transport: acache.NewTransport(nil)}

	do := func(ctl acache.Control, url string) {
		ctx := acache.WithControl(context.Background(), ctl)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if errors.Is(err, acache.ErrNotCached) {
			fmt.Printf("%-14s %s: not cached\n", ctl.Mode, req.URL.Path)
			return
		}
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body) // stored once read to the end
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Printf("%-14s %s: hit=%v, origin requests so far: %d\n", ctl.Mode, req.URL.Path, status.Hit, hits.Load())
	}
	do(acache.Control{}, server.URL+"/a")
	do(acache.Control{}, server.URL+"/a")
	do(acache.Control{Mode: acache.ModeReload}, server.URL+"/a")
	do(acache.Control{Mode: acache.ModeOnlyIfCached}, server.URL+"/a")
	do(acache.Control{Mode: acache.ModeOnlyIfCached}, server.URL+"/b")
	do(acache.Control{FreshFor: time.Nanosecond}, server.URL+"/a")
	// Output:
	// default        /a: hit=false, origin requests so far: 1
	// default        /a: hit=true, origin requests so far: 1
	// reload         /a: hit=false, origin requests so far: 2
	// only-if-cached /a: hit=true, origin requests so far: 2
	// only-if-cached /b: not cached
	// default        /a: hit=false, origin requests so far: 3
}

// A Cache partitioned by tenant: the same URL, stored once per tenant, each
// tenant served only its own response.
func ExampleWithPartitionBy() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "report for %s", r.Header.Get("X-Tenant"))
	}))
	defer server.Close()
	cache := acache.NewCache(nil, acache.WithPartitionBy(func(req *http.Request) string {
		return req.Header.Get("X-Tenant")
	}))
	client := &http.Client{Transport: acache.NewTransport(cache)}

	for _, tenant := range []string{"acme", "globex", "acme"} {
		req, _ := http.NewRequest(http.MethodGet, server.URL+"/report", nil)
		req.Header.Set("X-Tenant", tenant)
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Printf("%s: %q, hit=%v\n", tenant, body, status.Hit)
	}
	// Output:
	// acme: "report for acme", hit=false
	// globex: "report for globex", hit=false
	// acme: "report for acme", hit=true
}
