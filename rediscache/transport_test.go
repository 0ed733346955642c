package rediscache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// origin is an httptest server that counts its requests and answers each
// path with a body naming it and the Cache-Control that cacheControl returns.
type origin struct {
	*httptest.Server
	requests atomic.Int64
}

func newOrigin(t testing.TB, body int, cacheControl func(n int64) string) *origin {
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := o.requests.Add(1)
		w.Header().Set("Cache-Control", cacheControl(n))
		fmt.Fprintf(w, "%s %d ", r.URL.Path, n)
		w.Write(make([]byte, body))
	}))
	t.Cleanup(o.Close)
	return o
}

// cacheable answers every request with a response fresh for an hour.
func cacheable(int64) string { return "max-age=3600" }

// newTransport returns a Transport over a Cache over a Store on prefix
// through its own client of addr, all closed when t ends.
func newTransport(t testing.TB, addr, prefix string, opts ...acache.Option) (*acache.Transport, *acache.Cache, *Store) {
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	store := New(client, WithPrefix(prefix))
	cache := acache.NewCache(store, opts...)
	transport := acache.NewTransport(cache)
	t.Cleanup(func() {
		transport.Close()
		store.Close()
	})
	return transport, cache, store
}

// fetch makes a GET request through rt and returns the response with its
// body read.
func fetch(t testing.TB, rt http.RoundTripper, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err, "a request failed because of the cache")
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return resp, string(body)
}

func hit(resp *http.Response) bool {
	s, _ := acache.CacheStatusOf(resp)
	return s.Hit
}

// Two Transports in two processes (two clients) on one prefix share their
// entries: what one stored, the other serves.
func TestTransportsShareEntries(t *testing.T) {
	addr := redisAddr(t)
	cleaner := newClient(t)
	prefix := newPrefix(t, cleaner)
	o := newOrigin(t, 100, cacheable)
	first, _, _ := newTransport(t, addr, prefix)
	second, _, _ := newTransport(t, addr, prefix)

	resp, body := fetch(t, first, o.URL+"/shared")
	assert.False(t, hit(resp), "the first request was a hit")
	resp, got := fetch(t, second, o.URL+"/shared")
	assert.True(t, hit(resp), "the other Transport did not serve what the first stored")
	assert.Equal(t, body, got, "the other Transport served another body")
	assert.Equal(t, int64(1), o.requests.Load(), "requests that reached the origin")
}

// Junk bytes in Redis are a miss: the request gets the origin's answer,
// the failure is counted, and the junk is removed.
func TestGarbageIsRemoved(t *testing.T) {
	addr := redisAddr(t)
	client := newClient(t)
	prefix := newPrefix(t, client)
	// The first response is stored; the second must not be, so that the
	// key is empty once the junk is removed.
	o := newOrigin(t, 100, func(n int64) string {
		if n == 1 {
			return "max-age=3600"
		}
		return "no-store"
	})
	transport, cache, store := newTransport(t, addr, prefix)
	fetch(t, transport, o.URL+"/junk")
	var key string
	iter := client.Scan(t.Context(), 0, "{"+prefix+":*:e:*", 100).Iterator()
	for iter.Next(t.Context()) {
		key = iter.Val()
	}
	require.NoError(t, iter.Err())
	require.NotEmpty(t, key, "the first response was not stored")
	require.NoError(t, client.Set(t.Context(), key, "\x00junk\xff", 0).Err())

	resp, body := fetch(t, transport, o.URL+"/junk")
	assert.False(t, hit(resp), "junk was served")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "/junk 2 ", "the response is not the origin's second answer")
	assert.Positive(t, cache.Stats().Errors, "the junk was not counted as a failure")
	assert.Zero(t, client.Exists(t.Context(), key).Val(), "the junk is still in Redis")
	n, err := store.Len(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "the junk is still counted")
}

// Caches in several processes over one prefix keep the whole store within
// their byte limit. Stores running at once in different processes may pass
// it by what they are setting (each Cache reserves only its own stores), so
// the bound is exact once they are done and one more store has made room.
func TestWholeStoreLimits(t *testing.T) {
	addr := redisAddr(t)
	client := newClient(t)
	prefix := newPrefix(t, client)
	const (
		maxBytes = 20_000
		body     = 900
		workers  = 4 // per Cache
	)
	o := newOrigin(t, body, cacheable)
	first, _, store := newTransport(t, addr, prefix, acache.WithMaxBytes(maxBytes))
	second, _, _ := newTransport(t, addr, prefix, acache.WithMaxBytes(maxBytes))
	var wg sync.WaitGroup
	for i, transport := range []*acache.Transport{first, second, first, second} {
		for w := range workers {
			wg.Go(func() {
				for j := range 30 {
					fetch(t, transport, fmt.Sprintf("%s/%d/%d/%d", o.URL, i, w, j))
				}
			})
		}
	}
	wg.Wait()
	_, size, err := store.Size(t.Context())
	require.NoError(t, err)
	// At most every worker's store was in flight at once.
	entry := testEntry("GET "+o.URL+"/0/0/0", body+40).Size() + 200
	assert.LessOrEqual(t, size, int64(maxBytes+4*workers*int(entry)), "Size after concurrent stores")

	fetch(t, second, o.URL+"/last")
	_, size, err = store.Size(t.Context())
	require.NoError(t, err)
	assert.LessOrEqual(t, size, int64(maxBytes), "Size once the stores are done")
	assert.Positive(t, size, "nothing is stored")
}
