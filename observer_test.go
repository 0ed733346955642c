package acache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// observedCalls collects what a backend observer is told.
type observedCalls struct {
	mu    sync.Mutex
	calls []string // "op error?"
	took  []time.Duration
}

func (o *observedCalls) observe(op string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, op+" "+map[bool]string{true: "failed", false: "ok"}[err != nil])
	o.took = append(o.took, d)
}

func (o *observedCalls) seen() ([]string, []time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...), append([]time.Duration(nil), o.took...)
}

// WithBackendObserver is told of every backend call with its operation,
// duration and error: a lookup, a failed Set, and the lookup that finds
// nothing after it.
func TestBackendObserverIsToldOfEachCall(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	seen := &observedCalls{}
	cache := acache.NewCache(faulty, acache.WithBackendObserver(seen.observe))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}

	faulty.Inject(acachetest.OpSet, acachetest.Fault{Err: errors.New("set failed")})
	fetchVia(t, tr, o.URL+"/a", nil)
	faulty.ClearAll()
	fetchVia(t, tr, o.URL+"/a", nil)
	calls, took := seen.seen()
	assert.Contains(t, calls, "get ok")
	assert.Contains(t, calls, "set failed", "the failed Set, with its error")
	for _, d := range took {
		assert.GreaterOrEqual(t, d, time.Duration(0))
	}
	var gets int
	for _, c := range calls {
		if c == "get ok" {
			gets++
		}
	}
	assert.Equal(t, gets, int(cache.Stats().Backend["get"].Calls), "one word per call Stats counts")
}

// The observer is never called under a lock of the Cache: one that calls
// back into the Cache (a Purge) does not deadlock it.
func TestBackendObserverIsNotCalledUnderALock(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	var cache *acache.Cache
	observe := func(op string, _ time.Duration, _ error) {
		if op == "set" {
			cache.Purge(context.Background(), o.URL+"/a")
		}
	}
	cache = acache.NewCache(acachetest.NewFaultyBackend(acache.NewLRU()), acache.WithBackendObserver(observe))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	within(t, "a store whose observer answers with a Purge", func() {
		fetchVia(t, tr, o.URL+"/a", nil)
	})
	assert.Positive(t, cache.Stats().Backend["set"].Calls)
}

// A panic in the observer is reported, and the request goes on.
func TestBackendObserverThatPanicsIsReported(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	cache := acache.NewCache(acachetest.NewFaultyBackend(acache.NewLRU()),
		acache.WithBackendObserver(func(string, time.Duration, error) { panic("observer") }))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, o.URL+"/a", nil)
	resp, _ := fetchVia(t, tr, o.URL+"/a", nil)
	assert.True(t, hit(resp), "the cache works on")
	assert.Positive(t, cache.Stats().Errors, "the panics are counted")
}

// Over the in-memory LRU, called directly and untimed, the observer is
// never called.
func TestBackendObserverIsNotCalledForTheLRU(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	seen := &observedCalls{}
	cache := acache.NewCache(nil, acache.WithBackendObserver(seen.observe))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, o.URL+"/a", nil)
	fetchVia(t, tr, o.URL+"/a", nil)
	calls, _ := seen.seen()
	require.Empty(t, calls)
}
