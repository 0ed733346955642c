package acache

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// swrOrigin serves version 1, then whatever version it is told, with the
// given Cache-Control and an ETag of the version; it answers a matching
// If-None-Match with 304 and counts the conditional requests.
type swrOrigin struct {
	*testOrigin
	version     atomic.Int64
	conditional atomic.Int64
	failing     atomic.Bool
}

func newSWROrigin(t *testing.T, clock *testClock, cacheControl string) *swrOrigin {
	o := &swrOrigin{}
	o.version.Store(1)
	o.testOrigin = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		if o.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		etag := fmt.Sprintf(`"v%d"`, o.version.Load())
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			o.conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "version %d", o.version.Load())
	})
	return o
}

func TestRFC5861_3_StaleWhileRevalidate(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newSWROrigin(t, clock, "max-age=60, stale-while-revalidate=30")
	tr := newTestTransport(clock)
	t.Cleanup(func() { tr.Close() })
	fetch(t, tr, "GET", origin.URL, nil)

	clock.Advance(70 * time.Second) // 10 s stale: inside the window
	origin.version.Store(2)
	resp, body := fetch(t, tr, "GET", origin.URL, nil)
	status, _ := CacheStatusOf(resp)
	assert.True(t, status.Hit, "served at once, from the cache")
	assert.Equal(t, "version 1", body, "the stale response, while the refresh runs")
	assert.Equal(t, -10*time.Second, status.TTL, "ttl shows the staleness (RFC 9211 Section 2.4)")
	assert.Equal(t, "stale-while-revalidate", status.Detail)

	tr.Cache.waitBackground()
	assert.EqualValues(t, 2, origin.hits.Load(), "one refresh in the background")
	resp, body = fetch(t, tr, "GET", origin.URL, nil)
	assert.True(t, isHit(resp))
	assert.Equal(t, "version 2", body, "the refreshed response")
	assert.Equal(t, "0", resp.Header.Get("Age"), "fresh again")
}

func TestRFC5861_3_OutsideTheWindowTheCallerWaits(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newSWROrigin(t, clock, "max-age=60, stale-while-revalidate=30")
	tr := newTestTransport(clock)
	t.Cleanup(func() { tr.Close() })
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(100 * time.Second) // 40 s stale: past the window
	resp, body := fetch(t, tr, "GET", origin.URL, nil)
	assert.False(t, isHit(resp), "revalidated before answering")
	assert.Equal(t, "version 1", body)
	assert.EqualValues(t, 1, origin.conditional.Load())
}

func TestRFC5861_3_OneRefreshPerKey(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	release := make(chan struct{})
	var refreshes atomic.Int64
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=30")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") != "" {
			refreshes.Add(1)
			<-release
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "hello")
	})
	tr := newTestTransport(clock)
	t.Cleanup(func() { tr.Close() })
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(70 * time.Second)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			resp, body := fetch(t, tr, "GET", origin.URL, nil)
			assert.True(t, isHit(resp))
			assert.Equal(t, "hello", body)
		})
	}
	wg.Wait() // every caller answered while the refresh is still at the origin
	close(release)
	tr.Cache.waitBackground()
	assert.EqualValues(t, 1, refreshes.Load(), "32 stale hits started one refresh")
	assert.Zero(t, tr.Cache.flights.inFlight())
}

func TestRFC5861_3_AFailingRefreshKeepsTheStaleResponse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newSWROrigin(t, clock, "max-age=60, stale-while-revalidate=30")
	tr := newTestTransport(clock)
	t.Cleanup(func() { tr.Close() })
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(70 * time.Second)
	origin.failing.Store(true)
	fetch(t, tr, "GET", origin.URL, nil)
	tr.Cache.waitBackground()
	resp, body := fetch(t, tr, "GET", origin.URL, nil)
	assert.True(t, isHit(resp), "the stale response is still there, still inside the window")
	assert.Equal(t, "version 1", body)
	tr.Cache.waitBackground() // the refresh that hit started

	// Unreachable: the same.
	tr.Transport = roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("refused") })
	resp, _ = fetch(t, tr, "GET", origin.URL, nil)
	tr.Cache.waitBackground()
	assert.True(t, isHit(resp))
	resp, _ = fetch(t, tr, "GET", origin.URL, nil)
	assert.True(t, isHit(resp))
}

func TestRFC5861_3_DirectivesThatForbidIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cc, reqCC string
		shared          bool
	}{
		{name: "must-revalidate", cc: "max-age=60, stale-while-revalidate=30, must-revalidate"},
		{name: "no-cache", cc: "no-cache, stale-while-revalidate=30"},
		{name: "proxy-revalidate in a shared cache", cc: "max-age=60, stale-while-revalidate=30, proxy-revalidate", shared: true},
		{name: "s-maxage in a shared cache", cc: "s-maxage=60, stale-while-revalidate=30", shared: true},
		{name: "a request's no-cache", cc: "max-age=60, stale-while-revalidate=30", reqCC: "no-cache"},
		{name: "a request's max-age", cc: "max-age=60, stale-while-revalidate=30", reqCC: "max-age=65"},
		{name: "a request's min-fresh", cc: "max-age=60, stale-while-revalidate=30", reqCC: "min-fresh=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			origin := newSWROrigin(t, clock, tc.cc)
			var opts []Option
			if tc.shared {
				opts = append(opts, WithShared())
			}
			tr := newTestTransport(clock, opts...)
			t.Cleanup(func() { tr.Close() })
			fetch(t, tr, "GET", origin.URL, nil)
			clock.Advance(70 * time.Second)
			var h http.Header
			if tc.reqCC != "" {
				h = hdr("Cache-Control", tc.reqCC)
			}
			resp, _ := fetch(t, tr, "GET", origin.URL, h)
			assert.False(t, isHit(resp), "a stale response was served where %s forbids it", tc.name)
		})
	}
}

func TestRFC5861_3_CloseStopsBackgroundWork(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var refreshing atomic.Bool
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=30")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") != "" {
			refreshing.Store(true)
			<-r.Context().Done() // hangs until the cache gives up
			return
		}
		fmt.Fprint(w, "hello")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(70 * time.Second)
	resp, _ := fetch(t, tr, "GET", origin.URL, nil)
	require.True(t, isHit(resp))
	require.Eventually(t, refreshing.Load, backendCallLiveness, time.Millisecond)
	within(t, backendCallLiveness, "Close with a refresh hanging at the origin", func() {
		assert.NoError(t, tr.Close())
	})
	assert.Zero(t, tr.Cache.flights.inFlight())
	// After Close the cache still answers, without refreshing.
	resp, _ = fetch(t, tr, "GET", origin.URL, nil)
	assert.True(t, isHit(resp), "stale, inside the window")
	tr.Cache.waitBackground()
}

func TestPolicyStaleWhileRevalidateAllowed(t *testing.T) {
	t.Parallel()
	meta := func(cc string) *policy.Facts {
		return &policy.Facts{CC: httpsyntax.ParseResponseCacheControl(http.Header{"Cache-Control": {cc}}), Lifetime: time.Minute}
	}
	swr := meta("max-age=60, stale-while-revalidate=30")
	for _, tc := range []struct {
		name string
		age  time.Duration
		want bool
	}{
		{"RFC5861/3 fresh is not stale-while-revalidate", 30 * time.Second, false},
		{"RFC5861/3 just stale", 60 * time.Second, true},
		{"RFC5861/3 at the end of the window", 90 * time.Second, true},
		{"RFC5861/3 past the window", 91 * time.Second, false},
	} {
		assert.Equal(t, tc.want, policy.StaleWhileRevalidateAllowed(swr, httpsyntax.CacheControl{}, tc.age, false), tc.name)
	}
	assert.False(t, policy.StaleWhileRevalidateAllowed(meta("max-age=60"), httpsyntax.CacheControl{}, 70*time.Second, false), "no directive")
}
