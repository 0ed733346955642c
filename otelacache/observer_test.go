package otelacache_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/otelacache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
)

// remote is a backend that the Cache times, unlike the in-memory LRU it
// forwards to. Its calls fail with the error that failGets or failAll
// set, if any.
type remote struct {
	lru            acache.Backend
	getErr, allErr atomic.Pointer[error]
}

// newRemote returns a remote over a new LRU.
func newRemote() *remote { return &remote{lru: acache.NewLRU()} }

// failGets makes r's Gets fail with err; nil makes them succeed.
func (r *remote) failGets(err error) { store(&r.getErr, err) }

// failAll makes every call to r fail with err; nil makes them succeed.
func (r *remote) failAll(err error) { store(&r.allErr, err) }

// store stores err, or nil, in p.
func store(p *atomic.Pointer[error], err error) {
	if err == nil {
		p.Store(nil)
		return
	}
	p.Store(&err)
}

// failure returns the error a call to r returns, or nil; get tells a Get.
func (r *remote) failure(get bool) error {
	if err := r.allErr.Load(); err != nil {
		return *err
	}
	if err := r.getErr.Load(); get && err != nil {
		return *err
	}
	return nil
}

// Contains calls the LRU unless every call fails.
func (r *remote) Contains(ctx context.Context, key string) (bool, error) {
	if err := r.failure(false); err != nil {
		return false, err
	}
	return r.lru.Contains(ctx, key)
}

// Len calls the LRU unless every call fails.
func (r *remote) Len(ctx context.Context) (int, error) {
	if err := r.failure(false); err != nil {
		return 0, err
	}
	return r.lru.Len(ctx)
}

// Get calls the LRU unless Gets fail.
func (r *remote) Get(ctx context.Context, key string) (*acache.Entry, error) {
	if err := r.failure(true); err != nil {
		return nil, err
	}
	return r.lru.Get(ctx, key)
}

// Set calls the LRU unless every call fails.
func (r *remote) Set(ctx context.Context, key string, e *acache.Entry) error {
	if err := r.failure(false); err != nil {
		return err
	}
	return r.lru.Set(ctx, key, e)
}

// Pop calls the LRU unless every call fails.
func (r *remote) Pop(ctx context.Context, key string) (*acache.Entry, error) {
	if err := r.failure(false); err != nil {
		return nil, err
	}
	return r.lru.Pop(ctx, key)
}

// PopOldest calls the LRU unless every call fails.
func (r *remote) PopOldest(ctx context.Context) (string, *acache.Entry, error) {
	if err := r.failure(false); err != nil {
		return "", nil, err
	}
	return r.lru.PopOldest(ctx)
}

// MoveToEnd calls the LRU unless every call fails.
func (r *remote) MoveToEnd(ctx context.Context, key string) error {
	if err := r.failure(false); err != nil {
		return err
	}
	return r.lru.MoveToEnd(ctx, key)
}

// outage is the error of a backend that cannot be reached.
type outage struct{}

func (outage) Error() string { return "the backend is down" }

// operation is the acache.backend.operation attribute.
func operation(op string) attribute.KeyValue { return attribute.String("acache.backend.operation", op) }

// errorType is the error.type attribute.
func errorType(t string) attribute.KeyValue { return attribute.String("error.type", t) }

// durationBounds are the documented bucket boundaries of
// acache.backend.duration, in seconds.
var durationBounds = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// Over a backend that the Cache times, acache.backend.duration has one
// histogram per operation whose count, sum and max are the calls, total
// and max of Stats.Backend, which acache.backend.calls reports too.
func TestBackendDurationPerOperation(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t, otelacache.WithCacheName("remote"))
	c := acache.NewCache(newRemote(), m.BackendObserver())
	require.NoError(t, m.Observe(c))
	defer m.Close()
	cl := client(t, c)
	for _, path := range []string{"/a", "/a", "/a", "/b", "/b"} {
		do(t, cl, "GET", o.URL+path)
	}
	require.NoError(t, c.Close()) // the hits' recency updates are sent

	got := collect(t, reader)
	s := c.Stats()
	require.Contains(t, s.Backend, "get", "Stats.Backend over a timed backend")
	assert.Equal(t, int64(5), s.Backend["get"].Calls, "a lookup per request")
	name := cacheName("remote")
	for op, b := range s.Backend {
		h, ok := got.histogram("acache.backend.duration", name, operation(op))
		if !assert.True(t, ok, "no acache.backend.duration for %q:\n%v", op, got) {
			continue
		}
		assert.Equal(t, uint64(b.Calls), h.Count, "acache.backend.duration count of %q: not the calls Stats counts", op)
		assert.InDelta(t, b.Total.Seconds(), h.Sum, 1e-9, "acache.backend.duration sum of %q: not the total Stats counts", op)
		if maxima, ok := h.Max.Value(); assert.True(t, ok, "no max") {
			assert.Equal(t, b.Max.Seconds(), maxima, "acache.backend.duration max of %q", op)
		}
		assert.Equal(t, durationBounds, h.Bounds, "bucket boundaries of acache.backend.duration")

		calls, _ := got.sum("acache.backend.calls", name, operation(op))
		assert.Equal(t, b.Calls, calls, "acache.backend.calls{%q}", op)
		errs, ok := got.sum("acache.backend.errors", name, operation(op))
		assert.True(t, ok, "acache.backend.errors{%q} not reported", op)
		assert.Zero(t, errs, "acache.backend.errors{%q}", op)
	}
	assert.Equal(t, len(s.Backend), got.points("acache.backend.duration"), "a histogram per operation and no failed call:\n%v", got)
}

// A failed backend call is recorded with error.type: the type of the
// error the backend's fmt.Errorf wraps, or "timeout"; acache.backend.errors
// and acache.errors count it.
func TestFailedBackendCallsHaveErrorType(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	backend := newRemote()
	c := acache.NewCache(backend, m.BackendObserver())
	require.NoError(t, m.Observe(c))
	defer m.Close()
	cl := client(t, c)

	do(t, cl, "GET", o.URL+"/a")
	backend.failGets(fmt.Errorf("remote: get: %w", outage{}))
	assert.Contains(t, do(t, cl, "GET", o.URL+"/a"), "fwd=", "a failed lookup is a miss")
	backend.failGets(fmt.Errorf("remote: get: %w", context.DeadlineExceeded))
	assert.Contains(t, do(t, cl, "GET", o.URL+"/a"), "fwd=", "a failed lookup is a miss")
	backend.failGets(nil)
	assert.Contains(t, do(t, cl, "GET", o.URL+"/a"), "hit", "the backend is back")
	require.NoError(t, c.Close())

	got := collect(t, reader)
	name := cacheName("acache")
	for _, typ := range []string{"github.com/acachecontrol/acache/otelacache_test.outage", "timeout"} {
		h, ok := got.histogram("acache.backend.duration", name, operation("get"), errorType(typ))
		assert.True(t, ok, "no failed get with error.type %q:\n%v", typ, got)
		assert.Equal(t, uint64(1), h.Count, "failed gets with error.type %q", typ)
	}
	ok, _ := got.histogram("acache.backend.duration", name, operation("get"))
	assert.Equal(t, uint64(2), ok.Count, "successful gets")
	errs, _ := got.sum("acache.backend.errors", name, operation("get"))
	assert.Equal(t, int64(2), errs, "acache.backend.errors{get}")
	calls, _ := got.sum("acache.backend.calls", name, operation("get"))
	assert.Equal(t, int64(4), calls, "acache.backend.calls{get}")
	recovered, _ := got.sum("acache.errors", name)
	assert.Equal(t, int64(2), recovered, "acache.errors")
	assert.Equal(t, c.Stats().Errors, recovered, "acache.errors against Stats.Errors")
}

// Failures in a row open the circuit breaker: acache.breaker.trips counts
// it, acache.breaker.skips the calls it spared.
func TestBreakerTripsAreReported(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	backend := newRemote()
	backend.failAll(outage{})
	c := acache.NewCache(backend, m.BackendObserver())
	require.NoError(t, m.Observe(c))
	defer m.Close()
	cl := client(t, c)
	for range 6 {
		do(t, cl, "GET", o.URL+"/a")
	}
	require.NoError(t, c.Close())

	got := collect(t, reader)
	s := c.Stats()
	name := cacheName("acache")
	trips, _ := got.sum("acache.breaker.trips", name)
	assert.Equal(t, int64(1), trips, "acache.breaker.trips after five failed lookups in a row")
	skips, _ := got.sum("acache.breaker.skips", name)
	assert.Equal(t, s.BackendSkips, skips, "acache.breaker.skips against Stats.BackendSkips")
	for op, b := range s.Backend {
		h, _ := got.histogram("acache.backend.duration", name, operation(op), errorType("github.com/acachecontrol/acache/otelacache_test.outage"))
		assert.Equal(t, uint64(b.Calls), h.Count, "failed %s calls against Stats.Backend", op)
	}
	open, ok := got.sum("acache.breaker.open", name)
	assert.True(t, ok, "acache.breaker.open not reported")
	assert.Contains(t, []int64{0, 1}, open, "acache.breaker.open") // 1 for the second after it opened
}

// After Close, the backend observer records no more.
func TestCloseStopsTheHistogram(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	m, reader := newMetrics(t)
	c := acache.NewCache(newRemote(), m.BackendObserver())
	defer c.Close()
	cl := client(t, c)
	do(t, cl, "GET", o.URL+"/a")
	before, _ := collect(t, reader).histogram("acache.backend.duration", cacheName("acache"), operation("get"))
	require.Equal(t, uint64(1), before.Count, "gets before Close")

	require.NoError(t, m.Close())
	do(t, cl, "GET", o.URL+"/a")
	after, _ := collect(t, reader).histogram("acache.backend.duration", cacheName("acache"), operation("get"))
	assert.Equal(t, before.Count, after.Count, "gets recorded after Close")
}
