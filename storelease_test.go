package acache

import (
	"context"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leasingLRU is the LRU as a Leaser that several Caches share, as Caches in
// several processes share a Redis: leases live in memory, and a waiter is
// woken when the lease it waits for is released or expires.
type leasingLRU struct {
	*lru
	mu     sync.Mutex
	leases map[string]*testLease
	taken  atomic.Int64 // leases granted
	waits  atomic.Int64 // AwaitLease calls that found a lease held
}

type testLease struct {
	token    string
	expires  time.Time
	released chan struct{} // closed when released
	stored   bool          // set before released is closed
}

func newLeasingLRU() *leasingLRU {
	return &leasingLRU{lru: newLRU(), leases: map[string]*testLease{}}
}

// held returns key's lease, if it is held; under b.mu.
func (b *leasingLRU) held(key string) *testLease {
	if l := b.leases[key]; l != nil && time.Now().Before(l.expires) {
		return l
	}
	return nil
}

func (b *leasingLRU) GetOrLease(ctx context.Context, key string, stale uint64, token string, ttl time.Duration) (*Entry, bool, error) {
	b.mu.Lock() // held by Commit too: no store comes in between
	defer b.mu.Unlock()
	if e, err := b.lru.Get(ctx, key); err != nil || (e != nil && (stale == 0 || e.Version != stale)) {
		return e, false, err
	}
	if l := b.held(key); l != nil {
		return nil, l.token == token, nil
	}
	b.leases[key] = &testLease{token: token, expires: time.Now().Add(ttl), released: make(chan struct{})}
	b.taken.Add(1)
	return nil, true, nil
}

func (b *leasingLRU) RenewLease(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.held(key); l != nil && l.token == token {
		l.expires = time.Now().Add(ttl)
		return true, nil
	}
	return false, nil
}

// release releases key's lease if token holds it.
func (b *leasingLRU) release(key, token string, stored bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked(key, token, stored)
}

// releaseLocked is release, under b.mu.
func (b *leasingLRU) releaseLocked(key, token string, stored bool) {
	if l := b.held(key); l != nil && l.token == token {
		delete(b.leases, key)
		l.stored = stored
		close(l.released)
	}
}

func (b *leasingLRU) ReleaseLease(_ context.Context, key, token string) error {
	b.release(key, token, false)
	return nil
}

func (b *leasingLRU) Commit(ctx context.Context, c *Commit) (CommitResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	res, err := b.lru.Commit(ctx, c)
	if res.Stored && c.Lease != "" {
		b.releaseLocked(c.Key, c.Lease, true)
	}
	return res, err
}

func (b *leasingLRU) AwaitLease(ctx context.Context, key string) (bool, error) {
	b.mu.Lock()
	l := b.held(key)
	b.mu.Unlock()
	if l == nil {
		return true, nil
	}
	b.waits.Add(1)
	expiry := time.NewTimer(time.Until(l.expires))
	defer expiry.Stop()
	select {
	case <-l.released:
		return l.stored, nil
	case <-expiry.C:
		return true, nil
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
}

// fleetOf returns n Transports over Caches of their own that share backend,
// with inner as their origin.
func fleetOf(n int, backend Backend, inner http.RoundTripper) []*Transport {
	trs := make([]*Transport, n)
	for i := range trs {
		trs[i] = &Transport{Transport: inner, Cache: NewCache(backend)}
	}
	return trs
}

// stampedeAll runs stampede through every transport at once, per requests
// each, and returns what they got, all together.
func stampedeAll(t *testing.T, trs []*Transport, per int, url string) (bodies []string, statuses []CacheStatus, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, tr := range trs {
		wg.Go(func() {
			b, s, e := stampede(t, tr, per, url, nil)
			mu.Lock()
			defer mu.Unlock()
			bodies, statuses, errs = append(bodies, b...), append(statuses, s...), append(errs, e...)
		})
	}
	wg.Wait()
	return bodies, statuses, errs
}

// Caches that share a Leaser make one origin request for a herd of requests
// for one URL among them all: the first to miss takes the lease, the others
// wait for its response and are served it, marked collapsed.
func TestCollapseAcrossCachesOverALeaser(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		backend := newLeasingLRU()
		var calls atomic.Int64
		release := make(chan struct{})
		trs := fleetOf(3, backend, heldOrigin("max-age=60", &calls, release))
		const per = 16
		done := make(chan struct{})
		var bodies []string
		var statuses []CacheStatus
		var errs []error
		go func() {
			defer close(done)
			bodies, statuses, errs = stampedeAll(t, trs, per, "http://origin.test/fleet")
		}()
		synctest.Wait() // one request at the origin, every other one waiting
		assert.EqualValues(t, 1, calls.Load(), "requests at the origin while the first was in flight")
		assert.EqualValues(t, 1, backend.taken.Load(), "leases taken")
		assert.EqualValues(t, len(trs)-1, backend.waits.Load(), "Caches waiting for the lease: one per Cache, not one per request")
		close(release)
		<-done
		collapsed := 0
		for i := range bodies {
			require.NoError(t, errs[i])
			assert.Equal(t, "body of /fleet", bodies[i])
			if statuses[i].Collapsed {
				collapsed++
			}
		}
		assert.EqualValues(t, 1, calls.Load(), "%d requests from %d Caches reached the origin %d times", len(bodies), len(trs), calls.Load())
		assert.Equal(t, len(bodies)-1, collapsed, "every request but the one at the origin says collapsed")
		for _, tr := range trs {
			tr.Close()
		}
	})
}

// A response that will not be stored releases the lease with that word: the
// Caches that waited for it go to the origin at once, without waiting out
// the collapse wait.
func TestCollapseAcrossCachesNotStorableSendsTheWaitersAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		backend := newLeasingLRU()
		var calls atomic.Int64
		release := make(chan struct{})
		trs := fleetOf(2, backend, heldOrigin("no-store", &calls, release))
		done := make(chan struct{})
		start := time.Now()
		var errs []error
		go func() {
			defer close(done)
			_, _, errs = stampedeAll(t, trs, 1, "http://origin.test/private")
		}()
		synctest.Wait()
		require.EqualValues(t, 1, backend.waits.Load(), "the second Cache waits for the first's lease")
		close(release)
		<-done
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.EqualValues(t, 2, calls.Load(), "each Cache gets its own no-store response")
		assert.Zero(t, time.Since(start), "a waiter waited for a response that was not stored")
		for _, tr := range trs {
			tr.Close()
		}
	})
}

// A lease whose holder left (it died, and renews it no more) keeps the
// others waiting until it expires, no longer: one of them then takes it.
func TestCollapseAcrossCachesLeaseOfAHolderThatLeft(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		backend := newLeasingLRU()
		const url = "http://origin.test/orphan"
		tr := fleetOf(1, backend, roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			var calls atomic.Int64
			release := make(chan struct{})
			close(release)
			return heldOrigin("max-age=60", &calls, release).RoundTrip(req)
		}))[0]
		defer tr.Close()
		u, err := neturl.Parse(url)
		require.NoError(t, err)
		key := tr.Cache.keyFor(http.MethodGet, u, "origin.test", "")
		_, leased, err := backend.GetOrLease(context.Background(), key, 0, "a process that died", leaseTTL)
		require.NoError(t, err)
		require.True(t, leased)
		start := time.Now()
		resp, body := fetch(t, tr, http.MethodGet, url, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "body of /orphan", body)
		assert.Equal(t, leaseTTL, time.Since(start), "the wait for a lease whose holder left")
		assert.EqualValues(t, 2, backend.taken.Load(), "the lease, taken again once it expired")
	})
}

// A stale response's revalidation is collapsed across Caches too: the
// Cache that finds it stale first takes the lease and revalidates it; the
// others wait for the refreshed response and are served it.
func TestCollapseRevalidationAcrossCachesOverALeaser(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		backend := newLeasingLRU()
		var fetches, validations atomic.Int64
		release := make(chan struct{})
		origin := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			h := http.Header{"Cache-Control": {"max-age=10"}, "Etag": {`"v1"`}}
			if req.Header.Get("If-None-Match") == `"v1"` {
				validations.Add(1)
				<-release
				return &http.Response{StatusCode: http.StatusNotModified, Header: h, Body: http.NoBody, Request: req}, nil
			}
			fetches.Add(1)
			h.Set("Content-Length", "7")
			return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader("content")), ContentLength: 7, Request: req}, nil
		})
		trs := fleetOf(3, backend, origin)
		const url = "http://origin.test/stale"
		_, body := fetch(t, trs[0], http.MethodGet, url, nil)
		require.Equal(t, "content", body)
		time.Sleep(11 * time.Second) // stale everywhere
		const per = 16
		done := make(chan struct{})
		var bodies []string
		var statuses []CacheStatus
		var errs []error
		go func() {
			defer close(done)
			bodies, statuses, errs = stampedeAll(t, trs, per, url)
		}()
		synctest.Wait()
		assert.EqualValues(t, 1, validations.Load(), "revalidations at the origin while the first was in flight")
		assert.EqualValues(t, 2, backend.taken.Load(), "leases taken: the first fetch's and one revalidation's")
		close(release)
		<-done
		collapsed := 0
		for i := range bodies {
			require.NoError(t, errs[i])
			assert.Equal(t, "content", bodies[i])
			if statuses[i].Collapsed {
				collapsed++
			}
		}
		assert.EqualValues(t, 1, fetches.Load(), "full fetches")
		assert.EqualValues(t, 1, validations.Load(), "%d requests from %d Caches revalidated %d times", len(bodies), len(trs), validations.Load())
		assert.Equal(t, len(bodies)-1, collapsed, "every request but the revalidation says collapsed")
		for _, tr := range trs {
			tr.Close()
		}
	})
}
