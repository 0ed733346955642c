package httpcache_test

// These tests are written as a user of gregjones/httpcache would write them
// after changing the import: they check that such code compiles and works,
// and show each behaviour where acache differs on purpose.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/httpcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// migrationOrigin is an origin that counts its requests, records the
// If-None-Match field of the last one, and answers with handler.
type migrationOrigin struct {
	*httptest.Server
	hits        atomic.Int64
	mu          sync.Mutex
	ifNoneMatch string
}

func newMigrationOrigin(t *testing.T, handler http.HandlerFunc) *migrationOrigin {
	t.Helper()
	o := &migrationOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		o.ifNoneMatch = r.Header.Get("If-None-Match")
		o.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *migrationOrigin) lastIfNoneMatch() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ifNoneMatch
}

// readAll sends a request through client, reads the body and closes it.
func readAll(t *testing.T, client *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

func newGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}

func TestMigrationGregjonesCodeCompilesAndWorks(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})

	// As written for gregjones/httpcache, with the import changed.
	tp := httpcache.NewMemoryCacheTransport()
	tp.MarkCachedResponses = true
	client := &http.Client{Transport: tp}

	first, _ := readAll(t, client, newGet(t, o.URL))
	second, body := readAll(t, client, newGet(t, o.URL))
	assert.Empty(t, first.Header.Get(httpcache.XFromCache), "the first response, from the origin, is marked as from the cache")
	assert.Equal(t, "1", second.Header.Get(httpcache.XFromCache), "the second response is not marked as from the cache")
	assert.Equal(t, "hello", body)
	assert.EqualValues(t, 1, o.hits.Load(), "requests that reached the origin")

	// The other constructors a gregjones user writes.
	for name, tr := range map[string]*httpcache.Transport{
		"NewTransport(NewMemoryCache())":                           httpcache.NewTransport(httpcache.NewMemoryCache()),
		"&Transport{Cache: NewMemoryCache(), MarkCachedResponses}": {Cache: httpcache.NewMemoryCache(), MarkCachedResponses: true},
		"&Transport{MarkCachedResponses}, a nil Cache":             {MarkCachedResponses: true},
	} {
		client := tr.Client()
		readAll(t, client, newGet(t, o.URL))
		resp, _ := readAll(t, client, newGet(t, o.URL))
		assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "%s: the second response is not from the cache", name)
	}
	assert.EqualValues(t, 4, o.hits.Load(), "requests that reached the origin: one for each Transport's cache")
}

// TestMarkCachedResponses checks that X-From-Cache is added when
// MarkCachedResponses is set, to what gregjones/httpcache marks (a hit, a
// response the origin confirmed with a 304, a stale one served for a failed
// origin), and to nothing else.
func TestMarkCachedResponses(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		case "/validated":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/stale":
			w.Header().Set("Cache-Control", "max-age=0, stale-if-error=60")
		case "/never":
			w.Header().Set("Cache-Control", "no-store")
		}
		fmt.Fprint(w, "hello")
	})
	for _, mark := range []bool{true, false} {
		for name, newCache := range cacheKinds {
			tr := &httpcache.Transport{Cache: newCache(), MarkCachedResponses: mark}
			client := tr.Client()
			for _, path := range []string{"/fresh", "/validated", "/never"} {
				first, _ := readAll(t, client, newGet(t, o.URL+path))
				assert.Empty(t, first.Header.Get(httpcache.XFromCache), "%s: the origin's response is marked", path)
				second, body := readAll(t, client, newGet(t, o.URL+path))
				assert.Equal(t, "hello", body)
				want := ""
				if mark && path != "/never" {
					want = "1"
				}
				assert.Equal(t, want, second.Header.Get(httpcache.XFromCache), "%s: %s, MarkCachedResponses=%v", name, path, mark)
			}
			readAll(t, client, newGet(t, o.URL+"/stale"))
			fail.Store(true)
			stale, body := readAll(t, client, newGet(t, o.URL+"/stale"))
			fail.Store(false)
			assert.Equal(t, "hello", body, "stale-if-error serves the stored body")
			assert.Equal(t, map[bool]string{true: "1", false: ""}[mark], stale.Header.Get(httpcache.XFromCache),
				"%s: a stale response served for a failed origin, MarkCachedResponses=%v", name, mark)
		}
	}
}

// RFC 9111 Section 5.3: an Expires that is not an HTTP-date (here one in
// "UTC" rather than "GMT", which gregjones/httpcache accepts) means the
// response is already stale.
func TestMigrationInvalidExpiresMeansExpired(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		zone      string
		wantFresh bool
	}{
		{"GMT", true},
		{"UTC", false},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			t.Parallel()
			o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				now := time.Now().UTC()
				w.Header().Set("Date", now.Format(http.TimeFormat))
				expires := now.Add(time.Hour).Format("Mon, 02 Jan 2006 15:04:05 ") + tc.zone
				w.Header().Set("Expires", expires)
				fmt.Fprint(w, "hello")
			})
			client := httpcache.NewMemoryCacheTransport().Client()
			readAll(t, client, newGet(t, o.URL))
			resp, _ := readAll(t, client, newGet(t, o.URL))
			assert.Equal(t, tc.wantFresh, resp.Header.Get(httpcache.XFromCache) == "1",
				"second response from the cache, with Expires in %s", tc.zone)
			wantHits := 2
			if tc.wantFresh {
				wantHits = 1
			}
			assert.EqualValues(t, wantHits, o.hits.Load(), "requests that reached the origin")
		})
	}
}

// RFC 9111 Section 5.2.1.4: a request no-cache asks the cache to validate
// the stored response with the origin, not to bypass it: the origin gets a
// conditional request, and a 304 serves the stored body.
func TestMigrationRequestNoCacheRevalidates(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "hello")
	})
	client := httpcache.NewMemoryCacheTransport().Client()
	readAll(t, client, newGet(t, o.URL))

	req := newGet(t, o.URL)
	req.Header.Set("Cache-Control", "no-cache")
	resp, body := readAll(t, client, req)
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")
	assert.Equal(t, `"v1"`, o.lastIfNoneMatch(), "If-None-Match of the request no-cache sent to the origin")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello", body, "the body served after the 304")
}

// A response with an empty body is stored as soon as it arrives: there is
// nothing to read, so closing it unread stores it all the same.
func TestMigrationEmptyBodyIsStoredAtOnce(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "0")
	})
	client := httpcache.NewMemoryCacheTransport().Client()
	resp, err := client.Do(newGet(t, o.URL))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close()) // not read

	resp, _ = readAll(t, client, newGet(t, o.URL))
	assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "the empty response closed unread was not stored")
	assert.EqualValues(t, 1, o.hits.Load(), "requests that reached the origin")
}

func TestMigrationCachedResponse(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get("Authorization") != "" {
			w.Header().Set("Cache-Control", "private, max-age=60")
		}
		fmt.Fprint(w, "hello")
	})
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	cache := httpcache.NewMemoryCacheWith(acache.WithClock(clock))
	client := httpcache.NewTransport(cache).Client()

	resp, err := httpcache.CachedResponse(cache, newGet(t, o.URL+"/a"))
	require.NoError(t, err)
	assert.Nil(t, resp, "a response for a URL with nothing stored")

	readAll(t, client, newGet(t, o.URL+"/a"))
	resp, err = httpcache.CachedResponse(cache, newGet(t, o.URL+"/a"))
	require.NoError(t, err)
	require.NotNil(t, resp, "no response for a URL whose fresh response is stored")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(body))
	assert.EqualValues(t, 1, o.hits.Load(), "requests that reached the origin")

	// Another user's private response is not served.
	alice := newGet(t, o.URL+"/private")
	alice.Header.Set("Authorization", "Bearer alice")
	readAll(t, client, alice)
	bob := newGet(t, o.URL+"/private")
	bob.Header.Set("Authorization", "Bearer bob")
	resp, err = httpcache.CachedResponse(cache, bob)
	require.NoError(t, err)
	assert.Nil(t, resp, "bob got alice's private response")
	alice = newGet(t, o.URL+"/private")
	alice.Header.Set("Authorization", "Bearer alice")
	resp, err = httpcache.CachedResponse(cache, alice)
	require.NoError(t, err)
	assert.NotNil(t, resp, "alice did not get her own response")

	// A stale response is returned as it is stored, as gregjones/httpcache
	// returns it, with its age; the origin is not asked.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	resp, err = httpcache.CachedResponse(cache, newGet(t, o.URL+"/a"))
	require.NoError(t, err)
	require.NotNil(t, resp, "a stale response")
	assert.Equal(t, "120", resp.Header.Get("Age"))
	require.NoError(t, resp.Body.Close())
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")

	// A request the cache never answers is never sent either.
	post, err := http.NewRequest(http.MethodPost, o.URL+"/a", strings.NewReader("x"))
	require.NoError(t, err)
	resp, err = httpcache.CachedResponse(cache, post)
	require.NoError(t, err)
	assert.Nil(t, resp, "a POST")
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")

	// A request whose context is done is an error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = httpcache.CachedResponse(cache, newGet(t, o.URL+"/a").WithContext(ctx))
	assert.ErrorIs(t, err, context.Canceled)
	resp, err = httpcache.CachedResponse(cache, nil)
	assert.NoError(t, err, "CachedResponse(nil)")
	assert.Nil(t, resp, "CachedResponse(nil)")
}
