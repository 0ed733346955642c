// Command custombackend shows how to implement an [acache.Backend] of your own.
//
// SliceBackend keeps entries in a map and their keys, oldest first, in a slice.
// Reordering the slice takes time proportional to the number of entries, which
// is fine for an example: the LRU ([acache.NewLRU]) that acache uses by default does the
// same in constant time. A real custom backend would more likely store entries
// in Redis, a database or files; package acachetest checks any of them against
// the Backend contract (see main_test.go).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

var _ acache.Backend = (*SliceBackend)(nil)

// SliceBackend is a Backend over a map of entries and a slice of their keys in
// recency order. It is safe for concurrent use. Its zero value is empty and
// ready to use.
type SliceBackend struct {
	// mu guards entries and keys.
	mu      sync.Mutex
	entries map[string]*acache.Entry
	keys    []string // oldest first
}

// Contains reports whether key is stored.
func (b *SliceBackend) Contains(_ context.Context, key string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.entries[key]
	return ok, nil
}

// Len returns the number of stored entries.
func (b *SliceBackend) Len(_ context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries), nil
}

// Get returns the entry stored under key, or nil if there is none.
func (b *SliceBackend) Get(_ context.Context, key string) (*acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries[key], nil
}

// Set stores e under key as the most recently used entry.
func (b *SliceBackend) Set(_ context.Context, key string, e *acache.Entry) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries == nil {
		b.entries = make(map[string]*acache.Entry)
	}
	if _, ok := b.entries[key]; ok {
		b.removeKey(key)
	}
	b.entries[key] = e
	b.keys = append(b.keys, key)
	return nil
}

// Pop removes the entry stored under key and returns it, or returns nil if
// there is none.
func (b *SliceBackend) Pop(_ context.Context, key string) (*acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return nil, nil
	}
	delete(b.entries, key)
	b.removeKey(key)
	return e, nil
}

// PopOldest removes the least recently used entry and returns it with its key,
// or returns ("", nil) if the backend is empty.
func (b *SliceBackend) PopOldest(_ context.Context) (string, *acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.keys) == 0 {
		return "", nil, nil
	}
	key := b.keys[0]
	b.keys = slices.Delete(b.keys, 0, 1)
	e := b.entries[key]
	delete(b.entries, key)
	return key, e, nil
}

// MoveToEnd marks the entry stored under key as the most recently used.
func (b *SliceBackend) MoveToEnd(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.entries[key]; ok {
		b.removeKey(key)
		b.keys = append(b.keys, key)
	}
	return nil
}

// recency returns the stored keys, oldest first.
func (b *SliceBackend) recency() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.keys)
}

// removeKey removes key from b.keys. It must be called with b.mu held.
func (b *SliceBackend) removeKey(key string) {
	if i := slices.Index(b.keys, key); i >= 0 {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
}

func main() {
	// A loopback origin, so the example runs offline.
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "content of %s\n", r.URL.Path)
	}))
	defer origin.Close()

	backend := &SliceBackend{}
	// The Cache owns the eviction policy: with room for two entries, storing a
	// third pops the least recently used one through PopOldest.
	cache := acache.NewCache(backend, acache.WithMaxEntries(2))
	client := &http.Client{Transport: acache.NewTransport(cache)}

	for _, path := range []string{"/a", "/b", "/a", "/c", "/b"} {
		resp, err := client.Get(origin.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, _ := acache.CacheStatusOf(resp)
		fmt.Printf("GET %s  hit=%-5v  stored keys, oldest first: %q\n", path, status.Hit, paths(backend.recency(), origin.URL))
	}
	stats := cache.Stats()
	fmt.Printf("origin requests: %d, hits: %d, evictions: %d\n", originHits.Load(), stats.Hits, stats.Evictions)
}

// paths shortens cache keys ("GET http://127.0.0.1:1234/a") to their paths.
func paths(keys []string, originURL string) []string {
	out := make([]string, len(keys))
	for i, key := range keys {
		out[i] = strings.TrimPrefix(key, "GET "+originURL)
	}
	return out
}
