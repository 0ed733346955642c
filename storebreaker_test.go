package acache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyBackend is an LRU called as any other backend (off the caller's
// goroutine, behind the breaker) that counts its calls, and fails them or
// hangs in them, ignoring its context, when told to.
type flakyBackend struct {
	lru     *lru
	calls   atomic.Int64
	failing atomic.Bool
	hanging atomic.Bool
	release chan struct{} // closed to end the hung calls
}

func newFlakyBackend() *flakyBackend {
	return &flakyBackend{lru: newLRU(), release: make(chan struct{})}
}

var errFlaky = errors.New("the backend failed")

func (b *flakyBackend) enter() error {
	b.calls.Add(1)
	if b.hanging.Load() {
		<-b.release
	}
	if b.failing.Load() {
		return errFlaky
	}
	return nil
}

func (b *flakyBackend) Contains(ctx context.Context, key string) (bool, error) {
	if err := b.enter(); err != nil {
		return false, err
	}
	return b.lru.Contains(ctx, key)
}

func (b *flakyBackend) Len(ctx context.Context) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	return b.lru.Len(ctx)
}

func (b *flakyBackend) Get(ctx context.Context, key string) (*Entry, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	return b.lru.Get(ctx, key)
}

func (b *flakyBackend) Set(ctx context.Context, key string, e *Entry) error {
	if err := b.enter(); err != nil {
		return err
	}
	return b.lru.Set(ctx, key, e)
}

func (b *flakyBackend) Pop(ctx context.Context, key string) (*Entry, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	return b.lru.Pop(ctx, key)
}

func (b *flakyBackend) PopOldest(ctx context.Context) (string, *Entry, error) {
	if err := b.enter(); err != nil {
		return "", nil, err
	}
	return b.lru.PopOldest(ctx)
}

func (b *flakyBackend) MoveToEnd(ctx context.Context, key string) error {
	if err := b.enter(); err != nil {
		return err
	}
	return b.lru.MoveToEnd(ctx, key)
}

// fakeOrigin answers every request at once with a response fresh for a
// minute, without the network, so that it runs inside a synctest bubble.
var fakeOrigin = roundTripperFunc(func(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Cache-Control": {"max-age=60"}, "Content-Length": {"4"}},
		Body:   io.NopCloser(strings.NewReader("body")), ContentLength: 4, Request: req}, nil
})

// get sends a GET for url through tr with ctx, reads the body, and returns
// the response and how long the round trip and the read took.
func get(t *testing.T, tr *Transport, ctx context.Context, url string) (*http.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err, "a request failed because of the cache")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "body", string(body))
	return resp, time.Since(start)
}

// TestBreakerOpensAfterFailuresInARowAndProbes checks the circuit breaker:
// after failures in a row it stops calling the backend, so that requests go
// to the origin at once (no backend wait, no store promised in
// Cache-Status), and a second later lets one call probe the backend, which
// closes it again when the backend answers.
func TestBreakerOpensAfterFailuresInARowAndProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFlakyBackend()
		b.failing.Store(true)
		c := NewCache(b)
		tr := &Transport{Transport: fakeOrigin, Cache: c}
		defer tr.Close()
		for i := 0; !c.Stats().BreakerOpen; i++ {
			require.Less(t, i, breakerFailures, "the breaker did not open after %d failures in a row", b.calls.Load())
			get(t, tr, context.Background(), "http://origin.test/a")
		}
		assert.EqualValues(t, breakerFailures, b.calls.Load(), "the breaker opens at the fifth failure in a row")
		assert.EqualValues(t, 1, c.Stats().BreakerTrips)

		calls := b.calls.Load()
		for range 10 {
			resp, took := get(t, tr, context.Background(), "http://origin.test/a")
			assert.Zero(t, took, "a request waited for a backend the breaker skips")
			status, _ := CacheStatusOf(resp)
			assert.False(t, status.Stored, "Cache-Status promised a store the open breaker will not make")
			assert.Equal(t, "backend unavailable", status.Detail)
		}
		assert.Equal(t, calls, b.calls.Load(), "the open breaker let calls through")
		assert.Positive(t, c.Stats().BackendSkips)

		b.failing.Store(false)
		time.Sleep(breakerOpenFor + time.Millisecond)
		get(t, tr, context.Background(), "http://origin.test/a") // the lookup probes, and closes it
		assert.False(t, c.Stats().BreakerOpen, "a probe that succeeded did not close the breaker")
		resp, _ := get(t, tr, context.Background(), "http://origin.test/a")
		status, _ := CacheStatusOf(resp)
		assert.True(t, status.Hit, "the backend serves again: %q", resp.Header.Get("Cache-Status"))
	})
}

// TestBreakerProbeThatTimesOutCountsOnce checks that a probe that does not
// answer in time opens the breaker again at its deadline, and that its late
// answer, a success, does not close it: only a probe in time does.
func TestBreakerProbeThatTimesOutCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFlakyBackend()
		b.failing.Store(true)
		c := NewCache(b)
		tr := &Transport{Transport: fakeOrigin, Cache: c}
		defer tr.Close()
		for !c.Stats().BreakerOpen {
			get(t, tr, context.Background(), "http://origin.test/a")
		}
		b.failing.Store(false)
		b.hanging.Store(true) // the probe hangs, ignoring its context
		time.Sleep(breakerOpenFor + time.Millisecond)
		_, took := get(t, tr, context.Background(), "http://origin.test/a")
		assert.Equal(t, defaultBackendTimeout, took, "the request waits the backend timeout for the probe, no more")
		synctest.Wait() // the probe's deadline has passed: its failure is being counted
		assert.True(t, c.Stats().BreakerOpen, "a probe that timed out did not open the breaker again")
		assert.EqualValues(t, 2, c.Stats().BreakerTrips)

		b.hanging.Store(false)
		close(b.release) // the hung probe answers at last, a success
		synctest.Wait()
		assert.True(t, c.Stats().BreakerOpen, "the late answer of a probe that timed out closed the breaker")
		time.Sleep(breakerOpenFor + time.Millisecond)
		get(t, tr, context.Background(), "http://origin.test/a")
		assert.False(t, c.Stats().BreakerOpen, "the next probe, in time, closes it")
	})
}

// TestBackendCallsTakeAQuarterOfTheRequestsTime checks the deadline share:
// over a backend that hangs, ignoring its context, a request with a deadline
// shorter than the backend timeout waits a quarter of its time for its
// lookup and store together, and the origin answers it within its deadline.
func TestBackendCallsTakeAQuarterOfTheRequestsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFlakyBackend()
		b.hanging.Store(true)
		defer close(b.release)
		c := NewCache(b) // the backend timeout is 1 s
		tr := &Transport{Transport: fakeOrigin, Cache: c}
		defer tr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
		defer cancel()
		_, took := get(t, tr, ctx, "http://origin.test/a")
		assert.Equal(t, 200*time.Millisecond, took, "the lookup and the store together take a quarter of the 800 ms left")

		// Without a deadline, each request waits at most the backend
		// timeout, lookup and store together, until the breaker opens.
		_, took = get(t, tr, context.Background(), "http://origin.test/b")
		assert.Equal(t, defaultBackendTimeout, took)
	})
}
