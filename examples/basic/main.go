// Command basic starts a loopback origin that answers slowly, fetches the same
// URL twice through an acache Transport, and prints what a user checks: how
// many requests reached the origin, the cache's markers, and how long each call
// took. It needs no network.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
)

func main() {
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow origin makes the hit visible
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintln(w, "hello from the origin")
	}))
	defer origin.Close()

	client := &http.Client{Transport: acache.NewTransport(nil)}
	for i := 1; i <= 2; i++ {
		start := time.Now()
		resp, err := client.Get(origin.URL + "/greeting")
		if err != nil {
			log.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("call %d: %q in %v\n", i, body, time.Since(start).Round(time.Microsecond))
		fmt.Printf("  origin hits so far: %d\n", originHits.Load())
		fmt.Printf("  Age: %q\n", resp.Header.Get("Age"))
		fmt.Printf("  Cache-Status: %s\n", resp.Header.Get("Cache-Status"))
	}
}
