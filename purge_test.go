package acache

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hiddenLRU is an LRU the Cache does not recognise as one: every call goes
// through the detached path that networked and disk backends take.
type hiddenLRU struct{ Backend }

// purgeBackends are the two paths a Cache calls its backend by.
var purgeBackends = []struct {
	name string
	new  func() (Backend, *lru)
}{
	{"LRU", func() (Backend, *lru) { l := newLRU(); return l, l }},
	{"detached", func() (Backend, *lru) { l := newLRU(); return hiddenLRU{l}, l }},
}

// purgeOrigin answers every path with max-age=60, varying on
// Accept-Language, and with "private" and status 203 for the user bob.
func purgeOrigin(t *testing.T, clock *testClock) *testOrigin {
	return newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("X-Path", r.URL.Path)
		status := http.StatusOK
		if r.Header.Get("Authorization") == "Bearer bob" {
			w.Header().Set("Cache-Control", "private, max-age=60")
			status = http.StatusNonAuthoritativeInfo
		}
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, "%s %s %s", r.URL.Path, r.Header.Get("Accept-Language"), r.Header.Get("Authorization"))
		}
	})
}

// purgeRequest is one of the requests whose responses a URL holds: a variant
// by Accept-Language, a user by Authorization, or a HEAD.
type purgeRequest struct {
	method string
	header http.Header
}

var purgeRequests = []purgeRequest{
	{"GET", hdr("Accept-Language", "en")},
	{"GET", hdr("Accept-Language", "fr")},
	{"GET", hdr("Accept-Language", "en", "Authorization", "Bearer alice")}, // public, partitioned
	{"GET", hdr("Accept-Language", "en", "Authorization", "Bearer bob")},   // private, partitioned
	{"HEAD", hdr("Accept-Language", "de")},
}

// storeAll sends every purge request for each path through tr twice, and
// requires the second to be a hit.
func storeAll(t *testing.T, tr *Transport, o *testOrigin, paths ...string) {
	t.Helper()
	for _, path := range paths {
		for _, r := range purgeRequests {
			fetch(t, tr, r.method, o.URL+path, r.header)
			resp, _ := fetch(t, tr, r.method, o.URL+path, r.header)
			require.True(t, isHit(resp), "%s %s %v is stored before the purge: Cache-Status %q", r.method, path, r.header, resp.Header["Cache-Status"])
		}
	}
}

func TestPurgeRemovesEveryVariantAndUser(t *testing.T) {
	t.Parallel()
	for _, b := range purgeBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := purgeOrigin(t, clock)
			backend, lru := b.new()
			// A long backend timeout: the detached stores finish before the
			// response body's last Read returns.
			tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
			storeAll(t, tr, o, "/r", "/other")
			before := lruLen(t, lru)

			require.NoError(t, tr.Cache.Purge(t.Context(), o.URL+"/r"))
			// Purge has waited: what /r held is gone from the backend now.
			after := lruLen(t, lru)
			assert.Less(t, after, before, "entries left in the backend")
			for _, path := range []string{"/r", "/other"} {
				stored, err := tr.Cache.Inspect(t.Context(), o.URL+path)
				require.NoError(t, err)
				if path == "/r" {
					assert.Empty(t, stored, "what Stored lists for /r after its purge")
				} else {
					assert.Len(t, stored, len(purgeRequests), "what Stored lists for /other, which was not purged")
				}
			}

			hits := o.hits.Load()
			for _, r := range purgeRequests {
				resp, _ := fetch(t, tr, r.method, o.URL+"/r", r.header)
				assert.False(t, isHit(resp), "%s /r %v after the purge was served from the cache", r.method, r.header)
				resp, _ = fetch(t, tr, r.method, o.URL+"/other", r.header)
				assert.True(t, isHit(resp), "%s /other %v was purged with /r", r.method, r.header)
			}
			assert.EqualValues(t, len(purgeRequests), o.hits.Load()-hits, "requests that reached the origin after the purge")
		})
	}
}

func TestPurgeNormalisesTheURLAsTheKeyDoes(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	tr := newTestTransport(clock)
	storeAll(t, tr, o, "/r")
	// The same URL, spelled with an upper-case scheme and a fragment.
	require.NoError(t, tr.Cache.Purge(t.Context(), "HTTP://"+strings.TrimPrefix(o.URL, "http://")+"/r#top"))
	stored, err := tr.Cache.Inspect(t.Context(), o.URL+"/r")
	require.NoError(t, err)
	assert.Empty(t, stored, "responses left after purging the same URL spelled otherwise")
}

func TestPurgeOfNothingStored(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	assert.NoError(t, c.Purge(t.Context(), "https://example.com/never"))
	assert.Zero(t, c.Stats().Errors, "errors counted")
}

func TestPurgeRefusesURLsTheCacheNeverStores(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	for _, raw := range []string{
		"",
		"/relative/path",
		"example.com/no-scheme",
		"http://exa mple.com/",
		"http:///no-host",
		"mailto:someone@example.com",
		"http://[::1/",
	} {
		err := c.Purge(t.Context(), raw)
		assert.Error(t, err, "Purge(%q)", raw)
		_, err = c.Inspect(t.Context(), raw)
		assert.Error(t, err, "Inspect(%q)", raw)
	}
}

// failingPops is a backend whose Pop fails.
type failingPops struct{ Backend }

var errPopFails = errors.New("pop fails")

func (failingPops) Pop(context.Context, string) (*Entry, error) { return nil, errPopFails }

func TestPurgeReturnsTheBackendError(t *testing.T) {
	t.Parallel()
	for _, b := range purgeBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			backend, _ := b.new()
			c := NewCache(failingPops{backend}, WithLogger(new(logBuffer).logger()))
			err := c.Purge(t.Context(), "https://example.com/a")
			assert.ErrorIs(t, err, errPopFails, "what Purge returns when the backend fails")
		})
	}
}

// blockingPops is a backend whose Pop, once armed, waits until release is
// closed, whatever its context says, after saying so on entered.
type blockingPops struct {
	Backend
	armed   atomic.Bool
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (b *blockingPops) Pop(ctx context.Context, key string) (*Entry, error) {
	if !b.armed.Load() {
		return b.Backend.Pop(ctx, key)
	}
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Backend.Pop(ctx, key)
}

// Not parallel: it waits for the Cache's background jobs to end.
func TestPurgeWhoseContextEndsGoesOnInTheBackground(t *testing.T) {
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	lru := newLRU()
	backend := &blockingPops{Backend: hiddenLRU{lru}, entered: make(chan struct{}), release: make(chan struct{})}
	c := NewCache(backend, WithClock(clock.Now), WithBackendTimeout(time.Minute))
	tr := NewTransport(c)
	for _, r := range purgeRequests {
		fetch(t, tr, r.method, o.URL+"/r", r.header)
	}
	require.Positive(t, lruLen(t, lru), "entries stored")

	backend.armed.Store(true)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-backend.entered
		cancel()
	}()
	err := c.Purge(ctx, o.URL+"/r")
	assert.ErrorIs(t, err, context.Canceled, "what Purge returns when its context ends while the backend is stuck")

	close(backend.release)
	waitForJobs(t, c)
	assert.Zero(t, lruLen(t, lru), "entries left once the purge went on to its end")
}

func TestClearEmptiesTheBackend(t *testing.T) {
	t.Parallel()
	for _, b := range purgeBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := purgeOrigin(t, clock)
			backend, lru := b.new()
			tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
			storeAll(t, tr, o, "/a", "/b")
			require.Positive(t, tr.Cache.Stats().Bytes, "bytes stored")
			evictions := tr.Cache.Stats().Evictions

			require.NoError(t, tr.Cache.Clear(t.Context()))
			assert.Zero(t, lruLen(t, lru), "entries left after Clear")
			stats := tr.Cache.Stats()
			assert.Zero(t, stats.Bytes, "Stats().Bytes after Clear")
			assert.Equal(t, evictions, stats.Evictions, "Clear counted its removals as evictions")

			hits := o.hits.Load()
			resp, _ := fetch(t, tr, "GET", o.URL+"/a", hdr("Accept-Language", "en"))
			assert.False(t, isHit(resp), "a request after Clear was served from the cache")
			assert.EqualValues(t, 1, o.hits.Load()-hits, "requests that reached the origin")

			require.NoError(t, tr.Cache.Clear(t.Context()), "Clear of an empty cache")
			assert.Zero(t, lruLen(t, lru), "entries left after the second Clear")
		})
	}
}

func TestClearWithADoneContext(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, c.Clear(ctx), context.Canceled)
	assert.ErrorIs(t, c.Purge(ctx, "https://example.com/"), context.Canceled)
}

func TestStoredListsVariantsAndUsers(t *testing.T) {
	t.Parallel()
	for _, b := range purgeBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := purgeOrigin(t, clock)
			backend, _ := b.new()
			tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
			storeAll(t, tr, o, "/r", "/other")
			clock.Advance(10 * time.Second)

			stored, err := tr.Cache.Inspect(t.Context(), o.URL+"/r")
			require.NoError(t, err)
			type row struct {
				Method      string
				StatusCode  int
				Language    string
				Partitioned bool
			}
			var got []row
			for _, s := range stored {
				got = append(got, row{s.Method, s.StatusCode, s.VaryHeader.Get("Accept-Language"), s.Partitioned})
				assert.Equal(t, "/r", s.Header.Get("X-Path"), "a response of another URL listed for /r")
				assert.Equal(t, t0, s.Received, "Stored")
				assert.Equal(t, 50*time.Second, s.TTL, "TTL after 10 s of max-age=60")
				assert.Positive(t, s.Size, "Size")
				for name := range s.Header {
					assert.NotContains(t, strings.ToLower(name), "auth", "a credential in the listed header")
				}
			}
			want := []row{
				{"GET", 200, "fr", false}, // most recent variant first
				{"GET", 200, "en", false},
				{"GET", 200, "en", true}, // alice, public, under her partition
				{"GET", 203, "en", true}, // bob, private, under his partition
				{"HEAD", 200, "de", false},
			}
			assert.ElementsMatch(t, want, got, "what Stored lists for /r")
			assert.Equal(t, want[:2], got[:2], "the URI's own variants come first, most recent first")

			// The listing holds copies.
			stored[0].Header.Set("X-Path", "/changed")
			again, err := tr.Cache.Inspect(t.Context(), o.URL+"/r")
			require.NoError(t, err)
			assert.Equal(t, "/r", again[0].Header.Get("X-Path"), "changing a listed header changed the stored one")
		})
	}
}

func TestStoredOfNothing(t *testing.T) {
	t.Parallel()
	stored, err := NewCache(nil).Inspect(t.Context(), "https://example.com/never")
	assert.NoError(t, err)
	assert.Empty(t, stored)
}

// swappingGets is a backend that answers a Get for one path with the entry
// stored for another: a corrupt or malicious store.
type swappingGets struct {
	Backend
	from, to string
}

func (b swappingGets) Get(ctx context.Context, key string) (*Entry, error) {
	return b.Backend.Get(ctx, strings.Replace(key, b.from, b.to, 1))
}

func TestStoredNeverListsAnotherURLsResponse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	lru := newLRU()
	tr := NewTransport(NewCache(lru, WithClock(clock.Now)))
	storeAll(t, tr, o, "/other")

	c := NewCache(swappingGets{hiddenLRU{lru}, "/r", "/other"}, WithClock(clock.Now), WithLogger(new(logBuffer).logger()))
	stored, err := c.Inspect(t.Context(), o.URL+"/r")
	require.NoError(t, err)
	assert.Empty(t, stored, "Stored listed responses the backend returned for another URL")
	assert.Positive(t, c.Stats().Errors, "the entries under the wrong key were reported")
}

func TestStoredReturnsTheBackendError(t *testing.T) {
	t.Parallel()
	errGet := errors.New("get fails")
	c := NewCache(erringGets{hiddenLRU{newLRU()}, errGet}, WithLogger(new(logBuffer).logger()))
	_, err := c.Inspect(t.Context(), "https://example.com/")
	assert.ErrorIs(t, err, errGet)
}

// erringGets is a backend whose Get fails with err.
type erringGets struct {
	Backend
	err error
}

func (b erringGets) Get(context.Context, string) (*Entry, error) { return nil, b.err }

func TestStoredDropsACorruptIndex(t *testing.T) {
	t.Parallel()
	lru := newLRU()
	c := NewCache(hiddenLRU{lru}, WithBackendTimeout(time.Minute), WithLogger(new(logBuffer).logger()))
	uri := "GET https://example.com/r"
	// An index listing a partition of another URI.
	require.NoError(t, lru.Set(t.Context(), uri, &Entry{Key: uri, Partitions: []string{"GET https://example.com/other" + partitionTag + "x"}}))
	stored, err := c.Inspect(t.Context(), "https://example.com/r")
	require.NoError(t, err)
	assert.Empty(t, stored)
	ok, _ := lru.Contains(t.Context(), uri)
	assert.False(t, ok, "the corrupt index is still stored")
}

// lruLen returns the number of entries l holds.
func lruLen(t *testing.T, l *lru) int {
	t.Helper()
	n, err := l.Len(context.Background())
	require.NoError(t, err)
	return n
}

// endlessBackend is a backend that is never empty: PopOldest always returns
// an entry, as one would while other processes store as fast as it pops.
type endlessBackend struct {
	Backend
	pops atomic.Int64
}

func (b *endlessBackend) Len(context.Context) (int, error) { return 3, nil }

func (b *endlessBackend) PopOldest(context.Context) (string, *Entry, error) {
	b.pops.Add(1)
	key := "GET http://example.com/"
	return key, &Entry{Key: key, StatusCode: http.StatusOK, Header: http.Header{}}, nil
}

func TestClearOfABackendThatNeverEmptiesEnds(t *testing.T) {
	t.Parallel()
	backend := &endlessBackend{Backend: newLRU()}
	c := NewCache(backend)
	require.NoError(t, c.Clear(t.Context()))
	assert.EqualValues(t, 2*3+1, backend.pops.Load(), "entries Clear popped from a backend that held 3 when it began")
}

// failingLen is a backend whose Len fails.
type failingLen struct{ Backend }

var errLenFails = errors.New("len fails")

func (failingLen) Len(context.Context) (int, error) { return 0, errLenFails }

func TestClearReturnsTheBackendError(t *testing.T) {
	t.Parallel()
	c := NewCache(failingLen{hiddenLRU{newLRU()}}, WithLogger(new(logBuffer).logger()))
	assert.ErrorIs(t, c.Clear(t.Context()), errLenFails)
}

func TestPurgeReachesEveryTenantOfWithPartitionBy(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	tr := newTestTransport(clock, WithPartitionBy(func(r *http.Request) string { return r.Header.Get("X-Tenant") }))
	tenants := []http.Header{hdr("X-Tenant", "a"), hdr("X-Tenant", "b"), hdr("Accept-Language", "en")}
	for _, h := range tenants {
		fetch(t, tr, "GET", o.URL+"/r", h)
	}
	stored, err := tr.Cache.Inspect(t.Context(), o.URL+"/r")
	require.NoError(t, err)
	partitioned := 0
	for _, s := range stored {
		if s.Partitioned {
			partitioned++
		}
	}
	assert.Equal(t, 2, partitioned, "responses listed as one tenant's")

	require.NoError(t, tr.Cache.Purge(t.Context(), o.URL+"/r"))
	hits := o.hits.Load()
	for _, h := range tenants {
		resp, _ := fetch(t, tr, "GET", o.URL+"/r", h)
		assert.False(t, isHit(resp), "a request with %v after the purge was served from the cache", h)
	}
	assert.EqualValues(t, len(tenants), o.hits.Load()-hits, "requests that reached the origin after the purge")
}
