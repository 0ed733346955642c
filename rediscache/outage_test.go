//go:build unix

package rediscache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outageClient is a go-redis client as the README advises one for a cache:
// no retries (a cache miss is cheaper than a retry), and timeouts shorter
// than the backend timeout. With contextTimeout, the client keeps its
// contexts' deadlines (the Cache then calls it on the request's goroutine),
// and its own timeouts are long: only the deadlines the Cache sets can
// bound its calls.
func outageClient(addr string, contextTimeout bool) *redis.Client {
	opts := &redis.Options{
		Addr:          addr,
		MaxRetries:    -1,
		DialerRetries: 1,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		PoolTimeout:   200 * time.Millisecond,
	}
	if contextTimeout {
		opts.ContextTimeoutEnabled = true
		opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = 10*time.Second, 10*time.Second, 10*time.Second
	}
	return redis.NewClient(opts)
}

// traffic sends n GETs, 4 at a time, through a client with an 800 ms
// timeout, half of them for URLs asked before, and returns how long each
// took beyond what the origin took for it; it fails the test if any fails.
func traffic(t *testing.T, client *http.Client, origin string, originDelay time.Duration, n int) []time.Duration {
	t.Helper()
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			resp, err := client.Get(fmt.Sprintf("%s/p/%d", origin, i/2))
			if !assert.NoError(t, err, "request %d failed", i) {
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.NoError(t, err, "request %d: reading the body", i)
			took[i] = time.Since(start)
			if !hit(resp) {
				took[i] -= originDelay // a miss waits for the origin, as it would without a cache
			}
		})
	}
	wg.Wait()
	return took
}

// summary returns the median and the worst of d.
func summary(d []time.Duration) (median, worst time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

// TestRedisOutageCostsRequestsNothing runs traffic over a Cache on Redis
// with http.Client timeouts (800 ms) shorter than the backend timeout (1 s):
// with Redis up, with Redis stopped by SIGSTOP (it holds its connections
// and never answers), and with Redis gone (connections refused). Every
// request succeeds from the origin; the time each adds to the origin's is
// logged (the README quotes it), and the breaker opens. It runs over a
// client that ignores its contexts (the Cache then waits for each call in a
// goroutine of its own) and over one that keeps their deadlines, whose own
// timeouts (10 s) would fail every request if the Cache did not bound its
// calls.
func TestRedisOutageCostsRequestsNothing(t *testing.T) {
	for _, contextTimeout := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", contextTimeout), func(t *testing.T) {
			outage(t, contextTimeout)
		})
	}
}

func outage(t *testing.T, contextTimeout bool) {
	server := startRedis(t)
	const originDelay = 2 * time.Millisecond
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(originDelay)
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "%s", r.URL.Path)
	}))
	t.Cleanup(o.Close)
	rc := outageClient(server.addr(), contextTimeout)
	t.Cleanup(func() { rc.Close() })
	store := New(rc, WithPrefix("outage"))
	require.Equal(t, contextTimeout, store.KeepsDeadlines())
	cache := acache.NewCache(store) // the default backend timeout: 1 s
	inner := &http.Transport{}
	t.Cleanup(inner.CloseIdleConnections)
	tr := &acache.Transport{Transport: inner, Cache: cache}
	t.Cleanup(func() {
		tr.Close()
		store.Close()
	})
	client := &http.Client{Transport: tr, Timeout: 800 * time.Millisecond}
	const n = 60

	median, worst := summary(traffic(t, client, o.URL+"/up", originDelay, n))
	t.Logf("Redis up: %d requests, added latency median %v, worst %v", n, median, worst)

	require.NoError(t, server.cmd.Process.Signal(syscall.SIGSTOP))
	median, worst = summary(traffic(t, client, o.URL+"/hung", originDelay, n))
	t.Logf("Redis hung (SIGSTOP): %d requests, added latency median %v, worst %v; %+v",
		n, median, worst, breakerStats(cache.Stats()))
	assert.Positive(t, cache.Stats().BreakerTrips, "the breaker never opened over a hung Redis")
	require.NoError(t, server.cmd.Process.Signal(syscall.SIGCONT))

	server.stop()
	median, worst = summary(traffic(t, client, o.URL+"/refused", originDelay, n))
	t.Logf("Redis refused: %d requests, added latency median %v, worst %v; %+v",
		n, median, worst, breakerStats(cache.Stats()))

	server.start()
	resumed := false
	for range 40 { // hits resume once the breaker has probed Redis
		resp, err := client.Get(o.URL + "/back")
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if hit(resp) {
			resumed = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.True(t, resumed, "no hit after Redis came back")
}

// breakerStats is the part of s that says what the breaker did.
func breakerStats(s acache.Stats) string {
	return fmt.Sprintf("breaker trips %d, backend calls skipped %d, errors %d", s.BreakerTrips, s.BackendSkips, s.Errors)
}
