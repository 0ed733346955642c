package acache_test

// Tests for the defects a new user hits: zero values and nil arguments that
// panicked, raced or failed silently, and a hit's body that read after
// Close. Each is named after what it guards.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/acachecontrol/acache/httpcache"
)

// cacheable is an origin whose responses are fresh for a minute.
func cacheable(t *testing.T) *countingOrigin {
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "body of "+r.URL.Path)
	})
}

func TestZeroCacheIsReady(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	cache := &acache.Cache{}
	tr := acache.NewTransport(cache)
	tr.Transport = newInner(t)
	t.Cleanup(func() { tr.Close() })
	fetchVia(t, tr, o.URL+"/a", nil)
	resp, body := fetchVia(t, tr, o.URL+"/a", nil)
	assert.True(t, hit(resp), "a zero Cache caches like NewCache(nil): %q", resp.Header.Get("Cache-Status"))
	assert.Equal(t, "body of /a", body)
	assert.EqualValues(t, 1, cache.Stats().Hits)
	assert.EqualValues(t, 1, o.hits.Load())
}

// TestZeroTransportNeverWritesItsCacheField checks that a zero Transport
// caches with a Cache of its own without writing its exported Cache field,
// which a program may read while requests run (go test -race would see it).
func TestZeroTransportNeverWritesItsCacheField(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	tr := &acache.Transport{Transport: newInner(t)}
	t.Cleanup(func() { tr.Close() })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { fetchVia(t, tr, o.URL+"/a", nil) })
		wg.Go(func() {
			assert.Zero(t, tr.Cache.Stats(), "the read-only methods of a nil *Cache return zero values")
		})
	}
	wg.Wait()
	assert.Nil(t, tr.Cache, "the Transport wrote its exported Cache field")
	resp, _ := fetchVia(t, tr, o.URL+"/a", nil)
	assert.True(t, hit(resp), "a zero Transport caches: %q", resp.Header.Get("Cache-Status"))
}

func TestNilCacheMethods(t *testing.T) {
	t.Parallel()
	var c *acache.Cache
	ctx := context.Background()
	assert.Equal(t, acache.Stats{}, c.Stats())
	stored, err := c.Inspect(ctx, "http://example.com/")
	assert.NoError(t, err)
	assert.Empty(t, stored)
	x := c.Explain(&http.Response{Header: http.Header{}})
	assert.Contains(t, x.Reason, "nil *Cache")
	assert.NoError(t, c.Close())
	assert.Error(t, c.Purge(ctx, "http://example.com/"), "a nil Cache cannot purge: a misuse that fails clearly")
	assert.Error(t, c.Clear(ctx))
}

// nilBackend is a backend type whose nil pointer is what a newcomer passes
// after an ignored error: its methods would panic.
type nilBackend struct{ acache.Backend }

// nilStore is another, with methods of its own that use its fields.
type nilStore struct{ entries int }

func (s *nilStore) Contains(context.Context, string) (bool, error) { return s.entries > 0, nil }
func (s *nilStore) Len(context.Context) (int, error)               { return s.entries, nil }
func (s *nilStore) Get(context.Context, string) (*acache.Entry, error) {
	return nil, nil
}
func (s *nilStore) Set(context.Context, string, *acache.Entry) error { s.entries++; return nil }
func (s *nilStore) Pop(context.Context, string) (*acache.Entry, error) {
	return nil, nil
}
func (s *nilStore) PopOldest(context.Context) (string, *acache.Entry, error) {
	return "", nil, nil
}
func (s *nilStore) MoveToEnd(context.Context, string) error { return nil }

// TestNilBackendBypassesAndSaysSoOnce checks that a Cache over a nil
// pointer Backend sends every request to the origin as if there were no
// cache, says why in Cache-Status ("nil backend") and once at Error, and
// counts no failures.
func TestNilBackendBypassesAndSaysSoOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range []acache.Backend{(*nilStore)(nil), (*nilBackend)(nil)} {
		o := cacheable(t)
		var logs lockedBuffer
		cache := acache.NewCache(backend, acache.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		t.Cleanup(func() { cache.Close() })
		tr := &acache.Transport{Transport: newInner(t), Cache: cache}
		for range 3 {
			resp, body := fetchVia(t, tr, o.URL+"/a", nil)
			assert.Equal(t, "body of /a", body)
			status, _ := acache.CacheStatusOf(resp)
			assert.Equal(t, "nil backend", status.Detail, "%T: Cache-Status %q", backend, resp.Header.Get("Cache-Status"))
		}
		assert.EqualValues(t, 3, o.hits.Load())
		assert.Zero(t, cache.Stats().Errors, "a misconfiguration is said once, not counted as a failure per request")
		records := logs.records(t)
		require.Len(t, records, 1, "%T: one record, at Error: %s", backend, logs.String())
		assert.Equal(t, "ERROR", records[0]["level"])
		assert.Contains(t, records[0]["err"], "nil", "the record names the mistake")
		assert.ErrorIs(t, cache.Purge(context.Background(), o.URL+"/a"), acache.ErrNilBackend)
	}
}

func TestHitBodyReadAfterCloseFails(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(nil)}
	fetchVia(t, tr, o.URL+"/a", nil)
	req, err := http.NewRequest(http.MethodGet, o.URL+"/a", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.True(t, hit(resp))
	require.NoError(t, resp.Body.Close())
	n, err := resp.Body.Read(make([]byte, 4))
	assert.Zero(t, n)
	assert.Error(t, err, "a hit's body read after Close, unlike net/http's bodies")
	_, err = io.Copy(io.Discard, resp.Body)
	assert.Error(t, err, "io.Copy (WriteTo) read a hit's body after Close")
}

// lockedBuffer is a bytes.Buffer for a slog handler that may be written from
// several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON records written so far.
func (b *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		out = append(out, r)
	}
	return out
}

// TestHungBackendAndAShortClientTimeout checks the promise that a request
// never fails because of the cache: over a backend whose every call hangs,
// ignoring its context, and an http.Client whose timeout (800 ms) is
// shorter than the backend timeout (1 s), every request is answered by the
// origin. Before, each one failed with "context deadline exceeded".
func TestHungBackendAndAShortClientTimeout(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	for _, op := range []acachetest.Op{acachetest.OpGet, acachetest.OpSet, acachetest.OpPop, acachetest.OpLen} {
		faulty.Inject(op, acachetest.Fault{Hang: true, IgnoreContext: true})
	}
	cache := acache.NewCache(faulty)
	t.Cleanup(func() { cache.Close() })
	client := &http.Client{Transport: &acache.Transport{Transport: newInner(t), Cache: cache}, Timeout: 800 * time.Millisecond}
	for i := range 12 {
		resp, err := client.Get(fmt.Sprintf("%s/p/%d", o.URL, i%3))
		require.NoError(t, err, "request %d failed because of the cache", i)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, "request %d: reading the body", i)
		assert.Equal(t, fmt.Sprintf("body of /p/%d", i%3), string(body))
	}
	assert.Positive(t, cache.Stats().BreakerTrips, "the breaker never opened over a backend that hangs")
}

// TestRFC5861_StaleOnArrivalWithinItsWindowIsStored checks that a response
// already stale when it arrives (a CDN's max-age=60 with Age: 75) and
// without a validator is stored when it has a stale-while-revalidate or
// stale-if-error window (RFC 5861 Sections 3 and 4): later requests are
// served stale within the window, refreshed at most once per max-age, and
// on an origin error it is served; without a window it is refused.
func TestRFC5861_StaleOnArrivalWithinItsWindowIsStored(t *testing.T) {
	t.Parallel()
	t.Run("stale-while-revalidate", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
			w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
			w.Header().Set("Age", "75")
			io.WriteString(w, "from the CDN")
		})
		cache := acache.NewCache(nil, acache.WithClock(clock.Now))
		t.Cleanup(func() { cache.Close() })
		tr := &acache.Transport{Transport: newInner(t), Cache: cache}
		resp, body := fetchVia(t, tr, o.URL+"/cdn", nil)
		status, _ := acache.CacheStatusOf(resp)
		assert.True(t, status.Stored, "a response stale on arrival within its window is stored: %q", resp.Header.Get("Cache-Status"))
		assert.Equal(t, "from the CDN", body, "the caller that fetched it gets it as it is")

		burst := func() {
			var wg sync.WaitGroup
			for range 48 {
				wg.Go(func() {
					resp, body := fetchVia(t, tr, o.URL+"/cdn", nil)
					// Collapsed when it came while a refresh was storing.
					status, _ := acache.CacheStatusOf(resp)
					assert.True(t, status.Hit || status.Collapsed, "served stale within the window: %q", resp.Header.Get("Cache-Status"))
					assert.Equal(t, "from the CDN", body)
				})
			}
			wg.Wait()
		}
		burst()
		assert.EqualValues(t, 1, o.hits.Load(), "refreshed before max-age had passed since it was stored")
		clock.Advance(61 * time.Second)
		burst()
		assert.Eventually(t, func() bool { return o.hits.Load() == 2 }, liveness, time.Millisecond,
			"one refresh once max-age has passed")
		burst()
		assert.EqualValues(t, 2, o.hits.Load(), "an origin whose Age keeps the response stale is asked once per max-age, not per request")
	})
	t.Run("stale-if-error", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		var failing atomic.Bool
		o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
			w.Header().Set("Cache-Control", "max-age=60, stale-if-error=600")
			w.Header().Set("Age", "75")
			io.WriteString(w, "from the CDN")
		})
		cache := acache.NewCache(nil, acache.WithClock(clock.Now))
		t.Cleanup(func() { cache.Close() })
		tr := &acache.Transport{Transport: newInner(t), Cache: cache}
		fetchVia(t, tr, o.URL+"/cdn", nil)
		failing.Store(true)
		resp, body := fetchVia(t, tr, o.URL+"/cdn", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the stored response is served when the origin fails")
		assert.Equal(t, "from the CDN", body)
	})
	t.Run("no window", func(t *testing.T) {
		t.Parallel()
		o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Age", "75")
			io.WriteString(w, "stale")
		})
		cache := acache.NewCache(nil)
		t.Cleanup(func() { cache.Close() })
		resp, _ := fetchVia(t, &acache.Transport{Transport: newInner(t), Cache: cache}, o.URL+"/s", nil)
		status, _ := acache.CacheStatusOf(resp)
		assert.Equal(t, "stale on arrival", status.Detail)
	})
}

// TestRFC9111_3_2_NotModifiedWithoutAgeMakesTheResponseFresh checks that a
// 304 without Age freshens a stored response that carried one: its age
// starts again from the 304 (the stored Age is not kept), so one
// revalidation serves the herd that follows, instead of one per request.
func TestRFC9111_3_2_NotModifiedWithoutAgeMakesTheResponseFresh(t *testing.T) {
	t.Parallel()
	clock := newClock()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified) // no Age: the origin's own answer
			return
		}
		w.Header().Set("Age", "61") // through a CDN, already stale
		io.WriteString(w, "body")
	})
	cache := acache.NewCache(nil, acache.WithClock(clock.Now))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, o.URL+"/a", nil)
	var wg sync.WaitGroup
	for range 48 {
		wg.Go(func() {
			_, body := fetchVia(t, tr, o.URL+"/a", nil)
			assert.Equal(t, "body", body)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, o.hits.Load(), "the response and one revalidation, for 49 requests")
	resp, _ := fetchVia(t, tr, o.URL+"/a", nil)
	assert.True(t, hit(resp), "the freshened response is fresh: %q", resp.Header.Get("Cache-Status"))
	assert.Equal(t, "0", resp.Header.Get("Age"), "its age starts from the 304")
}

// TestRFC9211_TTLNeverRises walks the clock in quarter seconds over a
// response's life and checks that the ttl Cache-Status states never rises
// for one stored response, from the member that stored it to its last hit,
// and that ttl + Age is its lifetime on every hit.
func TestRFC9211_TTLNeverRises(t *testing.T) {
	t.Parallel()
	clock := newClock()
	clock.Advance(500 * time.Millisecond) // the Date field, in whole seconds, is half a second old
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=10")
		io.WriteString(w, "body")
	})
	cache := acache.NewCache(nil, acache.WithClock(clock.Now))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	previous := time.Duration(1 << 62)
	for step := range 100 { // 25 s: two stores and their hits
		resp, _ := fetchVia(t, tr, o.URL+"/a", nil)
		status, ok := acache.CacheStatusOf(resp)
		require.True(t, ok)
		if status.Stored {
			previous = 1 << 62 // a new response
		}
		require.LessOrEqual(t, status.TTL, previous, "step %d: the ttl rose: %q", step, resp.Header.Get("Cache-Status"))
		previous = status.TTL
		if status.Hit {
			age, err := strconv.Atoi(resp.Header.Get("Age"))
			require.NoError(t, err)
			assert.Equal(t, 10*time.Second, status.TTL+time.Duration(age)*time.Second,
				"step %d: ttl + Age is not the lifetime: %q, Age %d", step, resp.Header.Get("Cache-Status"), age)
		}
		clock.Advance(250 * time.Millisecond)
	}
	assert.EqualValues(t, 3, o.hits.Load(), "each response is fresh for its 10 s")
}

// TestStatsAddUpToTheResponses sends a mixed run (misses, hits, a herd that
// collapses, stale-while-revalidate, a 304 revalidation, stale-if-error,
// no-store, only-if-cached) and checks that the counters add up to what the
// responses say: Hits is the number of Cache-Status members with "hit",
// Collapsed those with "collapsed", Misses all the others, and X-From-Cache
// (package httpcache) marks every response served from stored bytes.
func TestStatsAddUpToTheResponses(t *testing.T) {
	t.Parallel()
	clock := newClock()
	var failing atomic.Bool
	release := make(chan struct{})
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		switch r.URL.Path {
		case "/herd":
			<-release // the herd gathers behind the first request
			w.Header().Set("Cache-Control", "max-age=60")
		case "/swr":
			w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
		case "/etag":
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"v"`)
			if r.Header.Get("If-None-Match") == `"v"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/sie":
			if failing.Load() {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.Header().Set("Cache-Control", "max-age=1, stale-if-error=600")
		case "/nostore":
			w.Header().Set("Cache-Control", "no-store")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		io.WriteString(w, "body of "+r.URL.Path)
	})
	memory := httpcache.NewMemoryCacheWith(acache.WithClock(clock.Now))
	cache := memory.Cache()
	t.Cleanup(func() { cache.Close() })
	// Through package httpcache, which adds X-From-Cache to what came from
	// the cache.
	tr := &httpcache.Transport{Transport: newInner(t), Cache: memory, MarkCachedResponses: true}
	var mu sync.Mutex
	var hits, collapsed, others, marked int64
	count := func(resp *http.Response) {
		mu.Lock()
		defer mu.Unlock()
		status, _ := acache.CacheStatusOf(resp)
		switch {
		case status.Hit:
			hits++
		case status.Collapsed:
			collapsed++
		default:
			others++
		}
		if resp.Header.Get(httpcache.XFromCache) == "1" {
			marked++
		}
	}
	get := func(path string, header map[string][]string) {
		resp, _ := fetchVia(t, tr, o.URL+path, header)
		count(resp)
	}

	for _, path := range []string{"/a", "/a", "/b", "/a", "/swr", "/etag", "/sie", "/nostore", "/nostore"} {
		get(path, nil)
	}
	var herd sync.WaitGroup
	herd.Go(func() { get("/herd", nil) })
	for o.hits.Load() < 8 { // the herd's leader is at the origin
		time.Sleep(time.Millisecond)
	}
	for range 8 {
		herd.Go(func() { get("/herd", nil) })
	}
	time.Sleep(50 * time.Millisecond) // let the herd gather (if one goes on its own, it counts the same)
	close(release)
	herd.Wait()

	clock.Advance(10 * time.Second)
	get("/swr", nil)  // stale, served at once, refreshed behind
	get("/etag", nil) // revalidated: 304
	failing.Store(true)
	get("/sie", nil) // the origin fails: stale-if-error
	get("/missing-only-if-cached", map[string][]string{"Cache-Control": {"only-if-cached"}})
	require.NoError(t, cache.Close())

	s := cache.Stats()
	assert.Equal(t, hits, s.Hits, "Stats.Hits counts the responses whose Cache-Status says hit")
	assert.Equal(t, collapsed, s.Collapsed, "Stats.Collapsed counts the responses whose Cache-Status says collapsed")
	assert.Equal(t, others, s.Misses, "Stats.Misses counts the rest")
	assert.Positive(t, collapsed, "the herd collapsed")
	assert.Equal(t, hits+collapsed+2, marked, "X-From-Cache marks the hits, the collapsed, the revalidated and the stale-if-error response")
}

// TestAuthTransportInsideTheCacheSaysHowToFixIt checks the migration step
// that turns caching off silently: an auth transport inside the cache (as
// with gregjones/httpcache, t.Transport = &oauth2.Transport{...}) adds
// Authorization below it, so nothing is stored; Explain and one Warn record
// say so and show the working order.
func TestAuthTransportInsideTheCacheSaysHowToFixIt(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	var logs lockedBuffer
	cache := acache.NewCache(nil, acache.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	t.Cleanup(func() { cache.Close() })
	inner := newInner(t)
	auth := roundTripFunc(func(req *http.Request) (*http.Response, error) { // what oauth2.Transport does
		out := req.Clone(req.Context())
		out.Header.Set("Authorization", "Bearer token")
		return inner.RoundTrip(out)
	})
	tr := &acache.Transport{Transport: auth, Cache: cache}
	var resp *http.Response
	for range 3 {
		resp, _ = fetchVia(t, tr, o.URL+"/a", nil)
	}
	x := cache.Explain(resp)
	assert.Equal(t, "authorization added below the cache", x.Status.Detail)
	assert.Contains(t, x.Reason, "&oauth2.Transport{Base: acache.NewTransport(nil)}", "Explain says how to fix it")
	records := logs.records(t)
	require.Len(t, records, 1, "one Warn record, not one per request: %s", logs.String())
	assert.Equal(t, "WARN", records[0]["level"])
	assert.Contains(t, records[0]["msg"], "&oauth2.Transport{Base: acache.NewTransport(nil)}", "the record says how to fix it")

	// The working order: the auth transport wraps the cache.
	cache2 := acache.NewCache(nil)
	t.Cleanup(func() { cache2.Close() })
	cached := &acache.Transport{Transport: inner, Cache: cache2}
	outside := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		out := req.Clone(req.Context())
		out.Header.Set("Authorization", "Bearer token")
		return cached.RoundTrip(out)
	})
	fetchVia(t, outside, o.URL+"/a", nil)
	resp, _ = fetchVia(t, outside, o.URL+"/a", nil)
	assert.True(t, hit(resp), "with the auth transport outside, each user's responses are cached: %q", resp.Header.Get("Cache-Status"))
}

// TestExplainHonoursTheRequestsFreshness checks that Explain gives a
// response fetched with a Control.FreshFor the lifetime the Cache used for
// that request, and prints durations to the millisecond.
func TestExplainHonoursTheRequestsFreshness(t *testing.T) {
	t.Parallel()
	o := cacheable(t) // max-age=60
	cache := acache.NewCache(nil)
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, o.URL+"/a", nil)
	ctx := acache.WithControl(context.Background(), acache.Control{FreshFor: 1500 * time.Millisecond})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL+"/a", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	x := cache.Explain(resp)
	assert.Equal(t, 1500*time.Millisecond, x.FreshFor, "the request's own freshness, not max-age")
	assert.Equal(t, "request", x.FreshnessFrom)
	assert.Contains(t, x.String(), "Fresh for 1.5s (request)")
}

// reentrantHandler is a slog handler that calls back into the Cache, as a
// handler that reads Stats or purges may: a Cache that logged while holding
// one of its key locks would deadlock on it.
type reentrantHandler struct {
	slog.Handler
	cache *acache.Cache
	url   string
}

func (h reentrantHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h reentrantHandler) Handle(ctx context.Context, r slog.Record) error {
	h.cache.Purge(context.Background(), h.url) // takes the URL's key lock
	return nil
}

// TestNothingLogsUnderALock checks that the Cache reports a failure met
// under its key locks (a store whose Set fails) only once it has released
// them: a handler that calls back into the Cache does not deadlock.
func TestNothingLogsUnderALock(t *testing.T) {
	t.Parallel()
	o := cacheable(t)
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	faulty.Inject(acachetest.OpSet, acachetest.Fault{Err: errors.New("set failed")})
	h := &reentrantHandler{Handler: slog.DiscardHandler, url: o.URL + "/a"}
	cache := acache.NewCache(faulty, acache.WithLogger(slog.New(h)))
	h.cache = cache
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	within(t, "a store whose failure the handler answers with a Purge", func() {
		fetchVia(t, tr, o.URL+"/a", nil)
	})
	assert.Positive(t, cache.Stats().Errors, "the failed Set is reported")
}
