package otelacache_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/otelacache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
)

// cacheName is the acache.name attribute of a Cache named name.
func cacheName(name string) attribute.KeyValue { return attribute.String("acache.name", name) }

// outcomes are the values of acache.outcome.
var outcomes = []string{"hit", "stale", "revalidated", "collapsed", "bypass", "miss"}

// scenarioOrigin answers /etag with a response stale at once that it
// confirms with a 304, /flaky with one that may be served stale on error
// and then fails, /nostore with one that must not be stored, and any
// other path with one fresh for a minute.
func scenarioOrigin(t *testing.T) *origin {
	var flaky atomic.Int64
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/etag":
			w.Header().Set("Cache-Control", "max-age=0")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/flaky":
			if flaky.Add(1) > 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Cache-Control", "max-age=0, stale-if-error=60")
		case "/nostore":
			w.Header().Set("Cache-Control", "no-store")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
}

// The asynchronous instruments report, per outcome and reason, exactly
// what a known sequence of requests made the Cache count.
func TestMetricsReportWhatTheCacheDid(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	c := acache.NewCache(nil, acache.WithMaxEntries(3), m.BackendObserver())
	defer c.Close()
	require.NoError(t, m.Observe(c))
	defer m.Close()
	cl := client(t, c)

	steps := []struct {
		method, path string
		status       string // what the Cache-Status field must hold
	}{
		{"GET", "/fresh", "fwd=uri-miss"},
		{"GET", "/fresh", "hit"},
		{"GET", "/fresh", "hit"},
		{"GET", "/etag", "fwd=uri-miss"},
		{"GET", "/etag", "fwd=stale; fwd-status=304"}, // revalidated
		{"GET", "/flaky", "fwd=uri-miss"},
		{"GET", "/flaky", `detail="stale-if-error"`}, // stale
		{"GET", "/nostore", `detail="no-store"`},
		{"GET", "/nostore", `detail="no-store"`},
		{"POST", "/post", "fwd=method"}, // bypass
		{"GET", "/other", "stored"},     // a fourth entry: /fresh is evicted
	}
	for i, s := range steps {
		require.Contains(t, do(t, cl, s.method, o.URL+s.path), s.status, "step %d: %s %s", i, s.method, s.path)
	}

	got := collect(t, reader)
	name := cacheName("acache")
	want := map[string]int64{"hit": 2, "stale": 1, "revalidated": 1, "collapsed": 0, "bypass": 1, "miss": 6}
	var sum int64
	for _, outcome := range outcomes {
		n, ok := got.sum("acache.requests", name, attribute.String("acache.outcome", outcome))
		assert.True(t, ok, "no acache.requests point for outcome %q:\n%v", outcome, got)
		assert.Equal(t, want[outcome], n, "acache.requests{acache.outcome=%q}", outcome)
		sum += n
	}
	s := c.Stats()
	assert.Equal(t, int64(len(steps)), sum, "the outcomes of acache.requests do not sum to the requests sent")
	assert.Equal(t, s.Hits+s.Collapsed+s.Misses, sum, "the outcomes of acache.requests do not sum to Hits + Collapsed + Misses")
	assert.Equal(t, len(outcomes), got.points("acache.requests"), "acache.requests has points beyond the six outcomes:\n%v", got)

	exact := []struct {
		metric string
		want   int64
		attrs  []attribute.KeyValue
	}{
		{"acache.refusals", 2, []attribute.KeyValue{name, attribute.String("acache.refusal.reason", "no-store")}},
		{"acache.stores", 5, []attribute.KeyValue{name}}, // /fresh, /etag twice (the 304 freshened it), /flaky, /other
		{"acache.evictions", 1, []attribute.KeyValue{name}},
		{"acache.errors", 0, []attribute.KeyValue{name}},
		{"acache.revalidations", 1, []attribute.KeyValue{name}},
		{"acache.not_modified", 1, []attribute.KeyValue{name}},
		{"acache.bodies_cut", 0, []attribute.KeyValue{name}},
		{"acache.stored.count", 3, []attribute.KeyValue{name}},
		{"acache.stored.usage", s.Bytes, []attribute.KeyValue{name}},
		{"acache.in_flight.usage", 0, []attribute.KeyValue{name}},
		{"acache.breaker.open", 0, []attribute.KeyValue{name}},
		{"acache.breaker.trips", 0, []attribute.KeyValue{name}},
		{"acache.breaker.skips", 0, []attribute.KeyValue{name}},
	}
	for _, e := range exact {
		n, ok := got.sum(e.metric, e.attrs...)
		if assert.True(t, ok, "no %s point with %v:\n%v", e.metric, e.attrs, got) {
			assert.Equal(t, e.want, n, "%s%v", e.metric, e.attrs)
		}
	}
	assert.Positive(t, s.Bytes, "Stats.Bytes of three entries")
	assert.Equal(t, 1, got.points("acache.refusals"), "acache.refusals has reasons beyond no-store:\n%v", got)
	// The in-memory LRU is called directly, untimed: nothing to report.
	assert.Zero(t, got.points("acache.backend.calls"), "backend calls over the in-memory LRU")
	assert.Zero(t, got.points("acache.backend.errors"), "backend errors over the in-memory LRU")
	assert.Zero(t, got.points("acache.backend.duration"), "backend durations over the in-memory LRU")
	assert.Equal(t, int64(9), o.hits.Load(), "requests that reached the origin")
}

// Close unregisters the callback: collections no longer report the Cache,
// and Observe cannot start it again.
func TestCloseStopsTheExport(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	c := acache.NewCache(nil)
	defer c.Close()
	require.NoError(t, m.Observe(c))
	cl := client(t, c)
	do(t, cl, "GET", o.URL+"/fresh")
	do(t, cl, "GET", o.URL+"/fresh")

	before := collect(t, reader)
	n, _ := before.sum("acache.requests", cacheName("acache"), attribute.String("acache.outcome", "hit"))
	require.Equal(t, int64(1), n, "hits before Close")

	require.NoError(t, m.Close())
	do(t, cl, "GET", o.URL+"/fresh")
	after := collect(t, reader)
	for name := range after {
		assert.Zero(t, after.points(name), "%s still reported after Close:\n%v", name, after)
	}
	assert.NoError(t, m.Close(), "a second Close")
	assert.Error(t, m.Observe(c), "Observe after Close")
}

// Several Caches in one process report through one MeterProvider, told
// apart by acache.name.
func TestCachesAreToldApartByName(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	reader, mp := newProvider(t)
	hits := map[string]int{"images": 3, "api": 1}
	for name, n := range hits {
		m, err := otelacache.New(otelacache.WithMeterProvider(mp), otelacache.WithCacheName(name))
		require.NoError(t, err)
		c := acache.NewCache(nil, m.BackendObserver())
		defer c.Close()
		require.NoError(t, m.Observe(c))
		defer m.Close()
		cl := client(t, c)
		for range n + 1 {
			do(t, cl, "GET", o.URL+"/"+name)
		}
	}

	got := collect(t, reader)
	for name, n := range hits {
		h, ok := got.sum("acache.requests", cacheName(name), attribute.String("acache.outcome", "hit"))
		assert.True(t, ok, "no hits of %q:\n%v", name, got)
		assert.Equal(t, int64(n), h, "hits of the Cache named %q", name)
		miss, _ := got.sum("acache.requests", cacheName(name), attribute.String("acache.outcome", "miss"))
		assert.Equal(t, int64(1), miss, "misses of the Cache named %q", name)
	}
	assert.Equal(t, 2*len(outcomes), got.points("acache.requests"), "one series per outcome and Cache:\n%v", got)
}

// Observe takes one Cache, once.
func TestObserveRefusesMisuse(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	defer m.Close()
	assert.Error(t, m.Observe(nil), "Observe(nil)")
	c := acache.NewCache(nil)
	defer c.Close()
	require.NoError(t, m.Observe(c))
	assert.Error(t, m.Observe(c), "a second Observe")
}

// acache.requests is a counter: while requests are served and the metrics
// collected at once, no outcome ever goes down from one collection to the
// next, although Stats.Outcomes reads its counters one at a time.
func TestRequestsNeverGoDownWhileServing(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	c := acache.NewCache(nil)
	defer c.Close()
	require.NoError(t, m.Observe(c))
	defer m.Close()
	cl := client(t, c)

	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				path := []string{"/fresh", "/etag", "/nostore", fmt.Sprintf("/p%d-%d", g, i%5)}[i%4]
				assert.NoError(t, get(cl, o.URL+path))
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	last := make(map[string]int64)
	for serving := true; serving; {
		select {
		case <-done:
			serving = false
		default:
		}
		got := collect(t, reader)
		for _, outcome := range outcomes {
			n, _ := got.sum("acache.requests", cacheName("acache"), attribute.String("acache.outcome", outcome))
			require.GreaterOrEqual(t, n, last[outcome], "acache.requests{acache.outcome=%q} went down", outcome)
			last[outcome] = n
		}
	}
	for outcome, n := range c.Stats().Outcomes() {
		assert.GreaterOrEqual(t, last[outcome], n, "acache.requests{acache.outcome=%q} behind Stats once served", outcome)
	}
}
