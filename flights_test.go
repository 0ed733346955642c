package acache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const herd = 64

// slowOrigin answers after release is closed (or at once if it is nil),
// counting requests, with the given Cache-Control and an ETag; it answers a
// matching If-None-Match with 304.
func slowOrigin(t *testing.T, cacheControl string, delay time.Duration) *testOrigin {
	return newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
}

// stampede sends n concurrent GETs for url through rt, released together,
// and returns what each got: its body and Cache-Status, or its error.
func stampede(t *testing.T, rt http.RoundTripper, n int, url string, ctx func(i int) context.Context) (bodies []string, statuses []CacheStatus, errs []error) {
	t.Helper()
	bodies, statuses, errs = make([]string, n), make([]CacheStatus, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := context.Background()
			if ctx != nil {
				c = ctx(i)
			}
			req, _ := http.NewRequestWithContext(c, http.MethodGet, url, nil)
			<-start
			resp, err := rt.RoundTrip(req)
			if err != nil {
				errs[i] = err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			bodies[i], errs[i] = string(body), err
			statuses[i], _ = CacheStatusOf(resp)
		})
	}
	close(start)
	wg.Wait()
	return bodies, statuses, errs
}

// within fails the test unless f returns within d: a liveness bound, far
// above what the work takes, that a request waiting for a body that is not
// coming would pass.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still waiting after %v", what, d)
		<-done
	}
}

// heldOrigin is an origin in memory, for the tests that run in a synctest
// bubble, which cannot use the network: it counts its requests and answers
// each, with the given Cache-Control, once release is closed.
func heldOrigin(cacheControl string, calls *atomic.Int64, release <-chan struct{}) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		calls.Add(1)
		<-release
		body := "body of " + req.URL.Path
		return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Cache-Control": {cacheControl}, "Content-Length": {strconv.Itoa(len(body))}},
			Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
	})
}

func TestCollapseConcurrentMissesReachTheOriginOnce(t *testing.T) {
	t.Parallel()
	// In a bubble, the origin answers only once every request of the herd
	// is either at the origin or waiting for the one that is: a loaded
	// machine cannot start some of them after the response was stored.
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		release := make(chan struct{})
		tr := &Transport{Transport: heldOrigin("max-age=60", &calls, release), Cache: NewCache(nil)}
		var bodies []string
		var statuses []CacheStatus
		var errs []error
		done := make(chan struct{})
		go func() {
			defer close(done)
			bodies, statuses, errs = stampede(t, tr, herd, "http://origin.test/herd", nil)
		}()
		synctest.Wait()
		assert.EqualValues(t, 1, calls.Load(), "requests at the origin while the first of %d was in flight", herd)
		close(release)
		<-done
		collapsed := 0
		for i := range herd {
			require.NoError(t, errs[i])
			assert.Equal(t, "body of /herd", bodies[i])
			if statuses[i].Collapsed {
				collapsed++
			}
		}
		assert.EqualValues(t, 1, calls.Load(), "%d concurrent requests for one URL reached the origin %d times", herd, calls.Load())
		assert.Equal(t, herd-1, collapsed, "every request but the one that went to the origin says collapsed (RFC 9211 Section 2.6)")
		assert.Zero(t, tr.Cache.flights.inFlight(), "a flight stayed registered")
	})
}

func TestCollapseRevalidationsToo(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var conditional atomic.Int64
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "hello")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(2 * time.Minute)
	bodies, _, errs := stampede(t, tr, herd, origin.URL, nil)
	for i := range herd {
		require.NoError(t, errs[i])
		assert.Equal(t, "hello", bodies[i])
	}
	assert.EqualValues(t, 1, conditional.Load(), "one conditional request for %d requests of one stale entry", herd)
	assert.EqualValues(t, 2, origin.hits.Load())
}

func TestCollapseNotStorableSendsTheWaitersAtOnce(t *testing.T) {
	t.Parallel()
	origin := slowOrigin(t, "no-store", 50*time.Millisecond)
	tr := NewTransport(NewCache(nil, WithCollapseWait(time.Hour)))
	within(t, backendCallLiveness, "waiters of a response that is not stored", func() {
		bodies, _, errs := stampede(t, tr, herd, origin.URL+"/private", nil)
		for i := range herd {
			require.NoError(t, errs[i])
			assert.Equal(t, "body of /private", bodies[i])
		}
	})
	assert.EqualValues(t, herd, origin.hits.Load(), "each request gets its own no-store response")
	assert.Zero(t, tr.Cache.flights.inFlight())
}

func TestCollapseFailingOriginReleasesTheWaiters(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return nil, errors.New("connection refused")
	})
	tr := &Transport{Transport: inner, Cache: NewCache(nil, WithCollapseWait(time.Hour))}
	within(t, backendCallLiveness, "waiters of a failed request", func() {
		_, _, errs := stampede(t, tr, herd, "http://origin.test/down", nil)
		for i := range herd {
			assert.Error(t, errs[i], "every caller gets the origin's error")
		}
	})
	assert.EqualValues(t, herd, calls.Load(), "after the leader failed, each waiter asked the origin itself")
	assert.Zero(t, tr.Cache.flights.inFlight())
}

func TestCollapseALeaderThatNeverReadsHoldsNobodyPastTheBound(t *testing.T) {
	t.Parallel()
	origin := slowOrigin(t, "max-age=60", 0)
	tr := NewTransport(NewCache(nil, WithCollapseWait(200*time.Millisecond)))
	leader, err := tr.RoundTrip(mustGet(t, origin.URL+"/slow-reader"))
	require.NoError(t, err) // its body is not read until the end
	within(t, backendCallLiveness, "waiters of a leader that does not read", func() {
		bodies, _, errs := stampede(t, tr, 8, origin.URL+"/slow-reader", nil)
		for i := range 8 {
			require.NoError(t, errs[i])
			assert.Equal(t, "body of /slow-reader", bodies[i])
		}
	})
	body, _ := io.ReadAll(leader.Body)
	leader.Body.Close()
	assert.Equal(t, "body of /slow-reader", string(body))
	assert.Zero(t, tr.Cache.flights.inFlight(), "the flight of an unread body stayed registered")
}

// The tests of a cancellation run in a bubble, where synctest.Wait says when
// a request has joined the flight it waits for: the cancellation then comes
// while it waits, however loaded the machine.

func TestCollapseLeaderCancelledMidFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int64
		held := heldOrigin("no-store", &calls, release)
		inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if calls.Load() == 0 { // the leader: stuck until its context ends
				calls.Add(1)
				<-req.Context().Done()
				return nil, req.Context().Err()
			}
			return held.RoundTrip(req)
		})
		tr := &Transport{Transport: inner, Cache: NewCache(nil, WithCollapseWait(time.Hour))}
		ctx, cancel := context.WithCancel(context.Background())
		leaderDone := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://origin.test/x", nil)
			_, err := tr.RoundTrip(req)
			leaderDone <- err
		}()
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load(), "the leader is at the origin")
		waiterDone := make(chan error, 1)
		go func() {
			resp, err := tr.RoundTrip(mustGet(t, "http://origin.test/x"))
			if err == nil {
				resp.Body.Close()
			}
			waiterDone <- err
		}()
		synctest.Wait()
		assert.EqualValues(t, 1, calls.Load(), "the second request went to the origin instead of waiting for the leader")
		cancel()
		assert.ErrorIs(t, <-leaderDone, context.Canceled)
		synctest.Wait()
		assert.EqualValues(t, 2, calls.Load(), "the waiter of a cancelled leader did not ask the origin itself")
		close(release)
		assert.NoError(t, <-waiterDone, "the waiter asked the origin itself")
		assert.Zero(t, tr.Cache.flights.inFlight())
	})
}

func TestCollapseWaiterCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int64
		tr := &Transport{Transport: heldOrigin("max-age=60", &calls, release), Cache: NewCache(nil, WithCollapseWait(time.Hour))}
		leaderDone := make(chan error, 1)
		go func() { // the leader, held at the origin
			_, err := fetchErr(tr, mustGet(t, "http://origin.test/x"))
			leaderDone <- err
		}()
		synctest.Wait()
		require.Equal(t, 1, tr.Cache.flights.inFlight(), "the leader's flight")
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://origin.test/x", nil)
		done := make(chan error, 1)
		go func() {
			_, err := fetchErr(tr, req)
			done <- err
		}()
		synctest.Wait() // the waiter waits for the leader's flight
		start := time.Now()
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "the waiter's cancellation ends its wait")
		assert.Zero(t, time.Since(start), "the cancelled waiter went on waiting: the bubble's clock moved")
		assert.EqualValues(t, 1, calls.Load(), "the cancelled waiter went to the origin")
		close(release)
		assert.NoError(t, <-leaderDone)
		assert.Zero(t, tr.Cache.flights.inFlight())
	})
}

// fetchErr sends req through rt and reads the body, returning the error of
// either.
func fetchErr(rt http.RoundTripper, req *http.Request) (string, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func TestCollapseNeverForRequestsThatMustGoThemselves(t *testing.T) {
	t.Parallel()
	for name, header := range map[string]http.Header{
		"no-cache":           {"Cache-Control": {"no-cache"}},
		"no-store":           {"Cache-Control": {"no-store"}},
		"Range":              {"Range": {"bytes=0-3"}},
		"its own validators": {"If-None-Match": {`"v0"`}},
	} {
		d := decision{req: &http.Request{Method: http.MethodGet, Header: header}, Verdict: policy.Verdict{Action: policy.Forward}}
		d.fields = scanRequestFields(header)
		if cc := header["Cache-Control"]; len(cc) > 0 {
			d.reqCC = httpsyntax.ParseRequestCacheControl(header)
		}
		assert.False(t, collapsible(&d), "%s: a request that must reach the origin would wait for another", name)
	}
	for _, mode := range []Mode{ModeReload, ModeNoStore} {
		d := decision{req: &http.Request{Method: http.MethodGet, Header: http.Header{}}, Verdict: policy.Verdict{Action: policy.Forward}, mode: mode}
		assert.False(t, collapsible(&d), "%v: a request that must reach the origin would wait for another", mode)
	}
	post := decision{req: &http.Request{Method: http.MethodPost, Header: http.Header{}}, Verdict: policy.Verdict{Action: policy.Forward}}
	assert.False(t, collapsible(&post), "an unsafe method")
}

func mustGet(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}

// BenchmarkHerd64 sends herds of 64 concurrent requests for one new URL to
// an origin that takes 20 ms, and reports how many reached it per herd.
func BenchmarkHerd64(b *testing.B) {
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, body1KiB)
	}))
	b.Cleanup(origin.Close)
	inner := &http.Transport{MaxIdleConnsPerHost: herd}
	b.Cleanup(inner.CloseIdleConnections)
	tr := &Transport{Transport: inner, Cache: NewCache(nil)}
	n := 0
	for b.Loop() {
		n++
		url := fmt.Sprintf("%s/herd/%d", origin.URL, n)
		var wg sync.WaitGroup
		for range herd {
			wg.Go(func() {
				resp, err := tr.RoundTrip(mustGetB(b, url))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(hits.Load())/float64(n), "origin-calls/herd")
}

func mustGetB(b *testing.B, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

// lateLookups is a backend whose second Get reads what is stored, then
// holds its answer until release is closed: a lookup that missed just
// before its twin's response was stored, and returned just after.
type lateLookups struct {
	plainLRU
	gets    atomic.Int64
	read    chan struct{} // closed once the second Get has read
	release chan struct{}
}

func (b *lateLookups) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := b.plainLRU.Get(ctx, key)
	if b.gets.Add(1) == 2 {
		close(b.read)
		<-b.release
	}
	return e, err
}

func TestCollapseALookupThatMissedWhileItsTwinStoredIsServedItsResponse(t *testing.T) {
	t.Parallel()
	lru := newLRU()
	backend := &lateLookups{plainLRU: plainLRU{lru, lru}, read: make(chan struct{}), release: make(chan struct{})}
	var calls atomic.Int64
	release := make(chan struct{})
	tr := &Transport{Transport: heldOrigin("max-age=60", &calls, release),
		Cache: NewCache(backend, WithCollapseWait(time.Hour), WithBackendTimeout(time.Hour))}
	const url = "http://origin.test/late"
	get := func(got chan<- string) {
		resp, err := tr.RoundTrip(httptest.NewRequest(http.MethodGet, url, nil))
		if !assert.NoError(t, err) {
			got <- ""
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, _ := CacheStatusOf(resp)
		status.TTL = 0 // the real clock may pass a second in between
		got <- string(body) + " | " + status.String()
	}

	// The first request misses and goes to the origin; the second looks
	// the key up while the first is there, and misses too.
	first, second := make(chan string, 1), make(chan string, 1)
	go get(first)
	within(t, backendCallLiveness, "the first request at the origin", func() {
		for calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
	})
	go get(second)
	<-backend.read
	// The first is answered and stored, and its flight lands, before the
	// second's lookup returns: no flight is left for the second to join.
	close(release)
	assert.Equal(t, "body of /late | acache; fwd=uri-miss; fwd-status=200; stored; ttl=0", <-first)
	within(t, backendCallLiveness, "the first flight landing", func() {
		for tr.Cache.flights.inFlight() > 0 {
			time.Sleep(time.Millisecond)
		}
	})
	close(backend.release)

	var got string
	within(t, backendCallLiveness, "the second request", func() { got = <-second })
	assert.Equal(t, "body of /late | acache; fwd=uri-miss; fwd-status=200; collapsed; ttl=0", got,
		"the second request is served what the first stored, as a collapsed request")
	assert.EqualValues(t, 1, calls.Load(), "requests at the origin: the second led a flight of its own")
}
