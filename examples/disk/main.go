// Command disk shows a cache that survives its process: it fetches a URL
// through an acache Transport over a diskcache.Store, and a second run of the
// program is served from the disk, without asking the origin.
//
//	go run ./examples/disk   # first run: a miss, stored on disk
//	go run ./examples/disk   # second run: a hit, from the disk
//	go run ./examples/disk -clear
//
// It needs no network: each run starts its own loopback origin. That origin
// listens on a new port each time, so the program names it by one fixed URL
// (http://origin.example/report) and dials the loopback listener for it: to
// the cache, every run asks the same origin for the same thing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/diskcache"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "acache-example-disk"), "the cache's directory")
	clear := flag.Bool("clear", false, "remove the cache's directory and exit")
	flag.Parse()
	if *clear {
		if err := os.RemoveAll(*dir); err != nil {
			log.Fatal(err)
		}
		fmt.Println("removed", *dir)
		return
	}

	started := time.Now()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // a slow origin makes the hit visible
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "report made by the run of %s\n", started.Format(time.TimeOnly))
	}))
	defer origin.Close()
	toOrigin := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, origin.Listener.Addr().String())
		},
	}

	store, err := diskcache.Open(*dir)
	if err != nil {
		log.Fatal(err) // e.g. another process holds the directory
	}
	defer store.Close() // flushes the recency of this run's hits
	cache := acache.NewCache(store, acache.WithMaxBytes(16<<20))
	defer cache.Close()
	client := &http.Client{Transport: &acache.Transport{Transport: toOrigin, Cache: cache}}

	start := time.Now()
	resp, err := client.Get("http://origin.example/report")
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("this run started at %s, cache in %s\n", started.Format(time.TimeOnly), *dir)
	fmt.Printf("body: %s", body)
	fmt.Printf("in %v, Cache-Status: %s\n", time.Since(start).Round(time.Microsecond), resp.Header.Get("Cache-Status"))
	if status, ok := acache.CacheStatusOf(resp); ok && status.Hit {
		fmt.Printf("served from disk, stored %s s ago by an earlier run\n", resp.Header.Get("Age"))
	} else {
		fmt.Println("fetched from the origin and stored on disk: run the program again")
	}
}
