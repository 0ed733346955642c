package acache

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orphanPartitions returns the partition keys stored in lru that the index
// at their URI does not list: responses an invalidation could not reach.
func orphanPartitions(t *testing.T, lru *LRU) []string {
	t.Helper()
	lru.mu.Lock()
	defer lru.mu.Unlock()
	var orphans []string
	for key := range lru.items {
		uri, partitioned := splitPartition(key)
		if !partitioned {
			continue
		}
		index, ok := lru.items[uri]
		if !ok || !slices.Contains(index.entry.Partitions, key) {
			orphans = append(orphans, key)
		}
	}
	return orphans
}

func TestRFC9111_4_4_InvalidationReachesEveryUser(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "%s for %q", r.Method, r.Header.Get("Authorization"))
	})
	lru := NewLRU()
	tr := NewTransport(NewCache(lru, WithClock(clock.Now)))
	users := []http.Header{nil, {"Authorization": {"Bearer alice"}}, {"Authorization": {"Bearer bob"}}}
	for _, h := range users {
		fetch(t, tr, "GET", origin.URL+"/r", h)
		resp, _ := fetch(t, tr, "GET", origin.URL+"/r", h)
		require.True(t, isHit(resp), "stored for %v", h)
	}
	assert.Empty(t, orphanPartitions(t, lru))

	resp, _ := fetch(t, tr, "POST", origin.URL+"/r", http.Header{"Authorization": {"Bearer carol"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, h := range users {
		resp, _ := fetch(t, tr, "GET", origin.URL+"/r", h)
		assert.False(t, isHit(resp), "after carol's POST, %v still got the stored response (RFC 9111 Section 4.4 invalidates the target URI)", h)
	}
	n, _ := lru.Len(t.Context())
	assert.Equal(t, 3, n, "the three responses stored again, the URI's own listing the two users'")
}

func TestCacheEvictingAURIIndexEvictsThePartitionsItLists(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "body")
	})
	lru := NewLRU()
	tr := NewTransport(NewCache(lru, WithClock(clock.Now), WithMaxEntries(3)))
	alice := http.Header{"Authorization": {"Bearer alice"}}
	fetch(t, tr, "GET", origin.URL+"/a", alice) // the index of /a, then alice's response
	fetch(t, tr, "GET", origin.URL+"/b", nil)
	fetch(t, tr, "GET", origin.URL+"/c", nil) // evicts the oldest: the index of /a
	assert.Empty(t, orphanPartitions(t, lru), "alice's response outlived the index that lets an invalidation reach it")
	n, _ := lru.Len(t.Context())
	assert.LessOrEqual(t, n, 3)

	// Hits keep a URI's index as recent as the responses it lists.
	fetch(t, tr, "GET", origin.URL+"/a", alice)
	for range 3 {
		fetch(t, tr, "GET", origin.URL+"/a", alice)
		clock.Advance(time.Second)
	}
	assert.Empty(t, orphanPartitions(t, lru))
}

func TestCachePartitionsPerURIAreBounded(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "body")
	})
	lru := NewLRU()
	tr := NewTransport(NewCache(lru, WithClock(clock.Now)))
	for i := range maxPartitions + 5 {
		fetch(t, tr, "GET", origin.URL+"/shared", http.Header{"Authorization": {fmt.Sprint("Bearer user-", i)}})
	}
	n, _ := lru.Len(t.Context())
	assert.Equal(t, maxPartitions+1, n, "the index and the %d most recent users' responses", maxPartitions)
	assert.Empty(t, orphanPartitions(t, lru))
	resp, _ := fetch(t, tr, "GET", origin.URL+"/shared", http.Header{"Authorization": {"Bearer user-0"}})
	assert.False(t, isHit(resp), "the first user's response was dropped to keep the index bounded")
}
