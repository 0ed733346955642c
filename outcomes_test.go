package acache

import (
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stats.Outcomes splits the requests into exclusive outcomes that sum to
// Hits + Collapsed + Misses: each scenario here adds to the one it names.
func TestStatsOutcomesAreExclusiveAndSumToTheRequests(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var failing atomic.Bool
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/swr":
			w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
		case "/etag":
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/herd":
			time.Sleep(100 * time.Millisecond) // the second request joins the first's flight
			w.Header().Set("Cache-Control", "max-age=60")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	tr := newTestTransport(clock, WithStaleOnError())
	defer tr.Close()
	c := tr.Cache
	step := func(want string, f func(), also ...string) {
		t.Helper()
		before := c.Stats().Outcomes()
		f()
		waitInFlight(t, c)
		after := c.Stats().Outcomes()
		for outcome, n := range after {
			switch {
			case outcome == want:
				assert.Positive(t, n-before[outcome], "%s: not counted", want)
			case slices.Contains(also, outcome):
			default:
				assert.Equal(t, before[outcome], n, "%s counted as %s", want, outcome)
			}
		}
	}
	step("miss", func() { fetch(t, tr, http.MethodGet, o.URL+"/fresh", nil) })
	step("hit", func() { fetch(t, tr, http.MethodGet, o.URL+"/fresh", nil) })
	step("miss", func() { fetch(t, tr, http.MethodGet, o.URL+"/swr", nil) })
	step("miss", func() { fetch(t, tr, http.MethodGet, o.URL+"/etag", nil) })
	clock.Advance(5 * time.Second)
	step("stale", func() { fetch(t, tr, http.MethodGet, o.URL+"/swr", nil) })
	step("revalidated", func() { fetch(t, tr, http.MethodGet, o.URL+"/etag", nil) })
	step("bypass", func() { fetch(t, tr, http.MethodPost, o.URL+"/post", nil) })
	step("collapsed", func() {
		bodies, _, errs := stampede(t, tr, 2, o.URL+"/herd", nil)
		for i := range bodies {
			require.NoError(t, errs[i])
		}
	}, "miss") // the request the other was collapsed onto
	clock.Advance(2 * time.Minute)
	// Served stale from the cache at the request's word: hits, and stale.
	step("stale", func() {
		fetch(t, tr, http.MethodGet, o.URL+"/fresh", http.Header{"Cache-Control": {"max-stale=600"}})
	})
	step("stale", func() {
		req, err := http.NewRequest(http.MethodGet, o.URL+"/fresh", nil)
		require.NoError(t, err)
		req = req.WithContext(WithControl(req.Context(), Control{Mode: ModeForceCache}))
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	})
	failing.Store(true)
	step("stale", func() { fetch(t, tr, http.MethodGet, o.URL+"/fresh", nil) })

	s := c.Stats()
	var sum int64
	for _, n := range s.Outcomes() {
		assert.GreaterOrEqual(t, n, int64(0))
		sum += n
	}
	assert.Equal(t, s.Hits+s.Collapsed+s.Misses, sum, "outcomes %v", s.Outcomes())
}
