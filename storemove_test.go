package acache_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hit's recency update reaches a backend that is not the LRU after the hit
// returns, and the least recently used entry is then the one evicted.
func TestRecencyReachesTheBackend(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	lru := acache.NewLRU()
	faulty := acachetest.NewFaultyBackend(lru) // not the LRU itself: touches are queued
	tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(faulty, acache.WithMaxEntries(2), acache.WithBackendTimeout(liveness))}
	fetchVia(t, tr, origin.URL+"/a", nil)
	fetchVia(t, tr, origin.URL+"/b", nil)
	resp, _ := fetchVia(t, tr, origin.URL+"/a", nil)
	require.True(t, hit(resp))
	require.Eventually(t, func() bool { return faulty.Calls(acachetest.OpMoveToEnd) == 1 },
		liveness, time.Millisecond, "the hit's MoveToEnd reached the backend")

	fetchVia(t, tr, origin.URL+"/c", nil) // evicts the least recently used: /b
	resp, _ = fetchVia(t, tr, origin.URL+"/a", nil)
	assert.True(t, hit(resp), "/a, used after /b, was kept")
	n, err := lru.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	resp, _ = fetchVia(t, tr, origin.URL+"/b", nil)
	assert.False(t, hit(resp), "/b was evicted")
}

// A backend whose MoveToEnd hangs holds one goroutine of the Cache, not one
// per hit, and never stops the hits: the lookups keep their own budget.
func TestRecencyOfAHungBackendHoldsOneGoroutine(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "fresh")
	})
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	cache := acache.NewCache(faulty, acache.WithBackendTimeout(time.Hour))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/", nil)
	faulty.Inject(acachetest.OpMoveToEnd, acachetest.Fault{Hang: true, IgnoreContext: true})

	for i := range 2000 { // more hits than the backend calls a Cache runs at once
		resp, _ := fetchVia(t, tr, origin.URL+"/", nil)
		require.True(t, hit(resp), "request %d", i)
	}
	assert.Equal(t, int64(1), origin.hits.Load(), "no lookup failed for want of room")
	require.Eventually(t, func() bool { return faulty.Calls(acachetest.OpMoveToEnd) > 0 }, liveness, time.Millisecond,
		"no touch reached the backend")
	assert.Equal(t, int64(1), faulty.Calls(acachetest.OpMoveToEnd), "one touch is under way; the rest wait in the queue")
	assert.Zero(t, cache.Stats().Errors)
}

// peekingBackend answers Peek from the LRU it wraps, beside a Get that may
// hang: a backend with a memory tier in front of slow storage.
type peekingBackend struct {
	*acachetest.FaultyBackend
	memory acache.Backend
	peeks  atomic.Int64
}

func (p *peekingBackend) Peek(key string) *acache.Entry {
	p.peeks.Add(1)
	e, _ := p.memory.Get(context.Background(), key)
	return e
}

// A hit that the backend's Peek answers from memory waits for no Get: here
// every Get hangs, and the hits are served all the same. An entry Peek does
// not have is asked of Get.
func TestPeekAnswersHitsWithoutGet(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	lru := acache.NewLRU()
	backend := &peekingBackend{FaultyBackend: acachetest.NewFaultyBackend(lru), memory: lru}
	t.Cleanup(backend.Release)
	cache := acache.NewCache(backend, acache.WithBackendTimeout(time.Hour))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/a", nil)

	backend.Inject(acachetest.OpGet, acachetest.Fault{Hang: true, IgnoreContext: true})
	getsBefore := backend.Calls(acachetest.OpGet)
	within(t, "hits while every Get hangs", func() {
		for range 3 {
			resp, body := fetchVia(t, tr, origin.URL+"/a", nil)
			assert.True(t, hit(resp))
			assert.Equal(t, "body of /a", body)
		}
	})
	assert.Equal(t, getsBefore, backend.Calls(acachetest.OpGet), "no Get was made for what Peek answered")
	assert.Positive(t, backend.peeks.Load())

	backend.Clear(acachetest.OpGet)
	memoryless := &peekingBackend{FaultyBackend: acachetest.NewFaultyBackend(lru), memory: acache.NewLRU()}
	tr2 := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(memoryless, acache.WithBackendTimeout(liveness))}
	resp, _ := fetchVia(t, tr2, origin.URL+"/a", nil)
	assert.True(t, hit(resp), "an entry Peek does not have is asked of Get")
	assert.Positive(t, memoryless.Calls(acachetest.OpGet))
}

// Close sends the recency updates still queued: every hit's update has
// reached the backend, in the order of the hits, when Close returns.
func TestCloseSendsTheQueuedRecency(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	cache := acache.NewCache(faulty, acache.WithBackendTimeout(liveness))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/a", nil)
	const hits = 200
	for i := range hits {
		resp, _ := fetchVia(t, tr, origin.URL+"/a", nil)
		require.True(t, hit(resp), "request %d", i)
	}
	require.NoError(t, cache.Close())
	assert.EqualValues(t, hits, faulty.Calls(acachetest.OpMoveToEnd), "recency updates that reached the backend by Close")
}
