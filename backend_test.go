package acache

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractChecker is an LRU that checks the Cache keeps its side of the
// Backend contract (backend.go): keys are never empty, Set never gets a nil
// entry nor one stored under another key, and no entry changes once it was
// handed to the backend.
type contractChecker struct {
	*lru
	t *testing.T

	// mu guards given.
	mu sync.Mutex
	// given holds each entry passed to Set, with a deep copy of it then.
	given map[*Entry]Entry
}

func (b *contractChecker) checkKey(method, key string) {
	if key == "" {
		b.t.Errorf("the Cache called %s with an empty key", method)
	}
}

func (b *contractChecker) Contains(ctx context.Context, key string) (bool, error) {
	b.checkKey("Contains", key)
	return b.lru.Contains(ctx, key)
}

func (b *contractChecker) Get(ctx context.Context, key string) (*Entry, error) {
	b.checkKey("Get", key)
	return b.lru.Get(ctx, key)
}

func (b *contractChecker) Set(ctx context.Context, key string, e *Entry) error {
	b.checkGiven("Set", key, e)
	return b.lru.Set(ctx, key, e)
}

// Commit checks what Set does, and that the Cache commits an entry with a
// version of its own, never 0, and lists only a key of the URI it names.
func (b *contractChecker) Commit(ctx context.Context, c *Commit) (CommitResult, error) {
	b.checkGiven("Commit", c.Key, c.Entry)
	if c.Entry != nil && c.Entry.Version == 0 {
		b.t.Errorf("the Cache committed %q with version 0", c.Key)
	}
	if uri, partitioned := splitPartition(c.Key); c.Index != "" && (!partitioned || uri != c.Index) {
		b.t.Errorf("the Cache listed %q in the index of %q", c.Key, c.Index)
	}
	return b.lru.Commit(ctx, c)
}

// checkGiven checks an entry the Cache hands to the backend with method.
func (b *contractChecker) checkGiven(method, key string, e *Entry) {
	b.checkKey(method, key)
	switch {
	case e == nil:
		b.t.Errorf("the Cache called %s(%q, nil)", method, key)
	case e.Key != key:
		b.t.Errorf("the Cache called %s(%q) with an entry whose Key is %q", method, key, e.Key)
	default:
		b.mu.Lock()
		now := deepCopy(e)
		if then, ok := b.given[e]; ok && !reflect.DeepEqual(then, now) {
			b.t.Errorf("the Cache changed the entry stored under %q after handing it to the backend, then stored it again:\nthen %+v\nnow  %+v", key, then, now)
		}
		b.given[e] = now
		b.mu.Unlock()
	}
}

func (b *contractChecker) Pop(ctx context.Context, key string) (*Entry, error) {
	b.checkKey("Pop", key)
	return b.lru.Pop(ctx, key)
}

func (b *contractChecker) MoveToEnd(ctx context.Context, key string) error {
	b.checkKey("MoveToEnd", key)
	return b.lru.MoveToEnd(ctx, key)
}

// checkUnchanged fails the test for each entry that differs from what it was
// when it was handed to Set.
func (b *contractChecker) checkUnchanged() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for e, then := range b.given {
		if now := deepCopy(e); !reflect.DeepEqual(then, now) {
			b.t.Errorf("the entry stored under %q changed after the Cache handed it to the backend:\nthen %+v\nnow  %+v", e.Key, then, now)
		}
	}
}

// deepCopy returns a copy of e that shares no map, slice or variant with it.
// What meta points to is compared by reflect.DeepEqual through the pointer.
func deepCopy(e *Entry) Entry {
	c := *e
	c.Header = e.Header.Clone()
	c.Body = bytes.Clone(e.Body)
	c.VaryHeader = e.VaryHeader.Clone()
	c.Partitions = slices.Clone(e.Partitions)
	c.Variants = nil
	for _, v := range e.Variants {
		if v == nil {
			c.Variants = append(c.Variants, nil)
			continue
		}
		vc := deepCopy(v)
		c.Variants = append(c.Variants, &vc)
	}
	return c
}

// TestBackendContractIsKeptByTheCache drives stores, hits, revalidations,
// variants, partitions, HEAD requests, invalidations and evictions through a
// Cache, and checks the promises backend.go makes to a backend on the
// Cache's behalf.
func TestBackendContractIsKeptByTheCache(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	version := 0
	var versionMu sync.Mutex
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		versionMu.Lock()
		v := version
		versionMu.Unlock()
		etag := fmt.Sprintf(`"%d"`, v)
		w.Header().Set("ETag", etag)
		switch r.URL.Path {
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		case "/revalidated":
			w.Header().Set("Cache-Control", "max-age=0")
		case "/vary":
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept-Language")
		case "/private":
			w.Header().Set("Cache-Control", "private, max-age=60")
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, "%s v%d %s", r.URL.Path, v, r.Header.Get("Accept-Language"))
		}
	})
	backend := &contractChecker{lru: newLRU(), t: t, given: map[*Entry]Entry{}}
	tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithMaxEntries(6)))

	steps := []struct {
		method, path string
		header       http.Header
		after        time.Duration // how far the clock moves first
	}{
		{"GET", "/fresh", nil, 0},
		{"GET", "/fresh", nil, 0},
		{"HEAD", "/fresh", nil, 0},
		{"GET", "/revalidated", nil, 0},
		{"GET", "/revalidated", nil, 5 * time.Second},
		{"GET", "/vary", hdr("Accept-Language", "en"), 0},
		{"GET", "/vary", hdr("Accept-Language", "fr"), 0},
		{"GET", "/vary", hdr("Accept-Language", "en"), 0},
		{"GET", "/private", hdr("Authorization", "Bearer alice"), 0},
		{"GET", "/private", hdr("Authorization", "Bearer bob"), 0},
		{"GET", "/fresh", hdr("Authorization", "Bearer alice"), 0},
		{"GET", "/fresh", hdr("If-None-Match", `"0"`), 0},
		{"GET", "/fresh", hdr("Range", "bytes=0-2"), 0},
		{"POST", "/fresh", nil, 0},
		{"GET", "/other1", nil, 0},
		{"GET", "/other2", nil, 0},
	}
	for round := range 4 {
		for _, s := range steps {
			clock.Advance(s.after)
			resp, _ := fetch(t, tr, s.method, o.URL+s.path, s.header)
			require.Less(t, resp.StatusCode, 500, "round %d: %s %s", round, s.method, s.path)
		}
		clock.Advance(45 * time.Second) // some entries go stale, and are revalidated
		if round == 1 {
			versionMu.Lock()
			version++ // and some change
			versionMu.Unlock()
		}
	}
	backend.mu.Lock()
	stored := len(backend.given)
	backend.mu.Unlock()
	s := tr.Cache.Stats()
	require.Greater(t, stored, 10, "entries stored: too few for the check to mean anything")
	require.Positive(t, s.Hits, "hits")
	require.Positive(t, s.Evictions, "evictions")
	assert.Zero(t, s.Errors, "failures the Cache recovered from")
	backend.checkUnchanged()
}
