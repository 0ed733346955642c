package acache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingGets is an LRU whose Get fails while fail is set.
type failingGets struct {
	*lru
	fail atomic.Bool
}

var errGetFailed = errors.New("get failed")

func (b *failingGets) Get(ctx context.Context, key string) (*Entry, error) {
	if b.fail.Load() {
		return nil, errGetFailed
	}
	return b.lru.Get(ctx, key)
}

func TestCacheStatsAndLogger(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("z", 100))
	})
	var logs logBuffer
	backend := &failingGets{lru: newLRU()}
	c := NewCache(backend, WithClock(clock.Now), WithLogger(logs.logger()))
	tr := NewTransport(c)
	for range 3 {
		fetch(t, tr, "GET", o.URL, nil)
	}
	s := c.Stats()
	assert.EqualValues(t, 2, s.Hits)
	assert.EqualValues(t, 1, s.Misses)
	assert.EqualValues(t, 1, s.Stores)
	assert.Zero(t, s.Errors)
	n, _ := c.backend.Len(context.Background())
	assert.Equal(t, 1, n)
	assert.Greater(t, s.Bytes, int64(100))
	assert.Empty(t, logs.records(t), "the Cache logged a failure although it recovered from none")

	// A backend failure is recovered from: the origin answers, and the
	// failure is counted and logged with what failed.
	backend.fail.Store(true)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "a failed lookup is a miss")
	assert.Equal(t, strings.Repeat("z", 100), body, "the origin's body after a failed lookup")
	assert.EqualValues(t, 1, c.Stats().Errors, "the failed Get is counted")
	req, err := http.NewRequest("GET", o.URL, nil)
	require.NoError(t, err)
	logged := logs.records(t)
	require.Len(t, logged, 1, "one failure, one log record")
	r := logged[0]
	assert.Equal(t, "WARN", r["level"], "level")
	assert.Equal(t, "acache: cache failure, using the origin", r["msg"], "message")
	assert.Equal(t, "get", r["op"], "the log record must say which backend operation failed")
	assert.Equal(t, c.key(req), r["key"], "the log record must say which key")
	assert.Equal(t, errGetFailed.Error(), r["err"], "the log record must carry the backend's error")
}

// TestStatsCountWhatTheOriginSaw runs a script of requests through a
// Cache, each outcome once or twice (miss, hit, revalidation answered 304
// and 200, stale-while-revalidate, refusals of two reasons), and checks
// every counter against what the origin counted and what was asked.
func TestStatsCountWhatTheOriginSaw(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var conditionals, notModified atomic.Int64
	var version atomic.Int64 // of /changes, which changes on every request
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			conditionals.Add(1)
		}
		switch r.URL.Path {
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		case "/same":
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"same"`)
		case "/changes":
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version.Add(1)))
		case "/swr":
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
			w.Header().Set("ETag", `"swr"`)
		case "/no-store":
			w.Header().Set("Cache-Control", "no-store")
		case "/accepted":
			w.WriteHeader(http.StatusAccepted) // not cacheable by default
			return
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == w.Header().Get("ETag") {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body of "+r.URL.Path)
	})
	c := NewCache(nil, WithClock(clock.Now))
	tr := NewTransport(c)
	tr.Transport = http.DefaultTransport.(*http.Transport).Clone() // Close closes it
	t.Cleanup(func() { tr.Close() })

	script := []struct {
		after time.Duration
		path  string
		hit   bool
	}{
		{0, "/fresh", false},
		{0, "/fresh", true},
		{0, "/same", false},
		{0, "/changes", false},
		{0, "/swr", false},
		{0, "/no-store", false},
		{0, "/no-store", false},
		{0, "/accepted", false},
		{20 * time.Second, "/same", false}, // stale: revalidated, 304
		{0, "/changes", false},             // stale: revalidated, 200
		{0, "/swr", true},                  // stale, served; revalidated in the background, 304
		{0, "/swr", true},                  // fresh again
	}
	requests, hits := 0, 0
	for i, step := range script {
		clock.Advance(step.after)
		resp, _ := fetch(t, tr, "GET", o.URL+step.path, nil)
		require.Equal(t, step.hit, isHit(resp), "step %d (%s): hit; Cache-Status %q", i, step.path, resp.Header["Cache-Status"])
		c.waitBackground()
		requests++
		if step.hit {
			hits++
		}
	}

	s := c.Stats()
	const background = 1 // the refresh of /swr
	assert.EqualValues(t, hits, s.Hits, "Hits: the requests the origin did not see")
	assert.EqualValues(t, requests-hits, s.Misses, "Misses: the requests the origin saw for a caller")
	assert.EqualValues(t, o.hits.Load(), s.Misses+background, "the origin saw every miss and the background refresh")
	assert.EqualValues(t, conditionals.Load(), s.Revalidations, "Revalidations: the conditional requests the origin got")
	assert.EqualValues(t, 3, s.Revalidations)
	assert.EqualValues(t, notModified.Load(), s.NotModified, "NotModified: the 304s the origin sent")
	assert.EqualValues(t, 2, s.NotModified)
	assert.EqualValues(t, 1, s.StaleServed, "StaleServed: /swr once")
	// Four first stores, a store for each 304 that freshened (/same, /swr),
	// and the new /changes.
	assert.EqualValues(t, 7, s.Stores, "Stores")
	assert.EqualValues(t, 3, s.Refusals, "Refusals")
	assert.Equal(t, map[string]int64{"no-store": 2, "status not cacheable by default": 1}, s.RefusalsByReason,
		"RefusalsByReason: keyed by the Cache-Status detail")
	assert.Zero(t, s.Errors, "Errors")
	assert.Zero(t, s.Evictions, "Evictions")
	assert.Nil(t, s.Backend, "the in-memory LRU is not timed")

	// The snapshot is a copy: changing it changes nothing in the Cache.
	s.RefusalsByReason["no-store"] = 100
	assert.EqualValues(t, 2, c.Stats().RefusalsByReason["no-store"], "Stats must return a copy of its maps")
}

// TestStatsBackendCalls checks the timing and counting of the calls to a
// backend other than the in-memory LRU: a lookup is a "get", counted once
// whether it succeeds or fails.
func TestStatsBackendCalls(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "body")
	})
	backend := &failingGets{lru: newLRU()}
	c := NewCache(backend, WithClock(clock.Now))
	tr := NewTransport(c)
	for range 3 {
		fetch(t, tr, "GET", o.URL, nil)
	}
	backend.fail.Store(true)
	fetch(t, tr, "GET", o.URL, nil)

	s := c.Stats()
	get := s.Backend["get"]
	assert.EqualValues(t, 4, get.Calls, "one get per request")
	assert.EqualValues(t, 1, get.Errors, "the failed get")
	assert.GreaterOrEqual(t, get.Total, get.Max, "the total time of the calls covers the longest")
	assert.EqualValues(t, 1, s.Errors)
	assert.EqualValues(t, 2, s.Hits)
}

// TestStatsAsJSON checks that a snapshot survives a round trip through
// JSON, as a debug endpoint or expvar.Func serves it.
func TestStatsAsJSON(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
	})
	c := NewCache(nil, WithClock(clock.Now))
	fetch(t, NewTransport(c), "GET", o.URL, nil)
	b, err := json.Marshal(c.Stats())
	require.NoError(t, err)
	var got Stats
	require.NoError(t, json.Unmarshal(b, &got), "Stats must marshal to JSON: %s", b)
	assert.Equal(t, c.Stats(), got, "the JSON must be the current Stats")
}

// TestImportHasNoSideEffects checks that the package does not depend on
// expvar, whose init registers GET /debug/vars (the command line, which
// often holds secrets) on http.DefaultServeMux of every program that imports
// it.
func TestImportHasNoSideEffects(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	for _, dep := range strings.Fields(string(out)) {
		assert.NotEqual(t, "expvar", dep, "importing acache would serve /debug/vars on http.DefaultServeMux")
	}
}

// TestStripedCounterCountsEveryAdd: the hit counter is spread over stripes,
// and still counts every hit from goroutines adding at once.
func TestStripedCounterCountsEveryAdd(t *testing.T) {
	t.Parallel()
	var c stripedCounter
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10_000 {
				c.add(uint(g*i), 1)
			}
		})
	}
	wg.Wait()
	c.add(99, -5)
	assert.Equal(t, int64(80_000-5), c.Load(), "hits added at once from several goroutines would be lost")
}
