package httpcache_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/acachecontrol/acache/httpcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapCache is a Cache as third parties write them for gregjones/httpcache:
// a map from keys to bytes. It records the keys it is given and fails the
// test's check when two calls run at once.
type mapCache struct {
	mu       sync.Mutex
	m        map[string][]byte
	keys     map[string]bool // every key a call was given
	inCall   atomic.Int32
	overlaps atomic.Int32 // calls that began while another ran
	panics   atomic.Bool  // every call panics
}

func newMapCache() *mapCache {
	return &mapCache{m: make(map[string][]byte), keys: make(map[string]bool)}
}

// enter marks a call as running, and counts it if another is.
func (c *mapCache) enter(key string) func() {
	if c.inCall.Add(1) > 1 {
		c.overlaps.Add(1)
	}
	c.mu.Lock()
	c.keys[key] = true
	c.mu.Unlock()
	if c.panics.Load() {
		c.inCall.Add(-1)
		panic("mapCache: out of order")
	}
	return func() { c.inCall.Add(-1) }
}

func (c *mapCache) Get(key string) ([]byte, bool) {
	defer c.enter(key)()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok
}

func (c *mapCache) Set(key string, b []byte) {
	defer c.enter(key)()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = b
}

func (c *mapCache) Delete(key string) {
	defer c.enter(key)()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

func (c *mapCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// wrappedMemory is a MemoryCache inside a Cache of the user's, as code
// that counts or logs its cache's calls has it: the Transport sees a Cache
// that is not a *MemoryCache.
type wrappedMemory struct {
	*httpcache.MemoryCache
	sets atomic.Int64
}

func (w *wrappedMemory) Set(key string, b []byte) {
	w.sets.Add(1)
	w.MemoryCache.Set(key, b)
}

// cacheKinds are the Caches the Transport's tests run over.
var cacheKinds = map[string]func() httpcache.Cache{
	"MemoryCache":           func() httpcache.Cache { return httpcache.NewMemoryCache() },
	"a map Cache":           func() httpcache.Cache { return newMapCache() },
	"a wrapped MemoryCache": func() httpcache.Cache { return &wrappedMemory{MemoryCache: httpcache.NewMemoryCache()} },
}

// The keys a Cache is given are safe for every store of gregjones/httpcache
// (memcache refuses spaces, control bytes and keys over 250 bytes), and the
// bytes are acache's entries, each under the digest of its own key.
func TestStoreKeysAreDigestsAndValuesAreEntries(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept")
		fmt.Fprint(w, "hello")
	})
	store := newMapCache()
	client := httpcache.NewTransport(store).Client()
	long := "/" + strings.Repeat("x", 400) + "?q=a%20b&\u00e9"
	for _, path := range []string{"/a", long} {
		readAll(t, client, newGet(t, o.URL+path))
		resp, _ := readAll(t, client, newGet(t, o.URL+path))
		assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "%s: the second request was not a hit", path)
	}
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")
	require.NotZero(t, store.len())
	for key, b := range store.m {
		assert.Regexp(t, "^[0-9a-f]{64}$", key, "a key given to the Cache")
		e, err := acache.DecodeEntry(b)
		require.NoError(t, err, "the bytes stored under %s", key)
		sum := sha256.Sum256([]byte(e.Key))
		assert.Equal(t, hex.EncodeToString(sum[:]), key, "the entry of %q is stored under another key", e.Key)
	}
}

// A new Transport over a store that outlives the process (a disk, Redis)
// serves what an earlier one stored; an entry found under the digest of
// another key is not served.
func TestStoreServesWhatAnEarlierRunStored(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello "+r.URL.Path)
	})
	store := newMapCache()
	readAll(t, httpcache.NewTransport(store).Client(), newGet(t, o.URL+"/a"))
	readAll(t, httpcache.NewTransport(store).Client(), newGet(t, o.URL+"/b"))

	restarted := httpcache.NewTransport(store).Client()
	resp, body := readAll(t, restarted, newGet(t, o.URL+"/a"))
	assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "what an earlier Transport stored was not served")
	assert.Equal(t, "hello /a", body)
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")

	// /b's entry moved under /a's key: not /a's response.
	store.mu.Lock()
	var aKey, bKey string
	for key, b := range store.m {
		e, err := acache.DecodeEntry(b)
		require.NoError(t, err)
		if strings.HasSuffix(e.Key, "/a") {
			aKey = key
		} else {
			bKey = key
		}
	}
	store.m[aKey] = store.m[bKey]
	store.mu.Unlock()
	resp, body = readAll(t, httpcache.NewTransport(store).Client(), newGet(t, o.URL+"/a"))
	assert.Empty(t, resp.Header.Get(httpcache.XFromCache), "another URL's entry was served")
	assert.Equal(t, "hello /a", body)
	assert.EqualValues(t, 3, o.hits.Load(), "requests that reached the origin")
}

// Over a store of keys and bytes, the Transport keeps acache's limits with
// an index of its own, and removes what it evicts from the store.
func TestStoreIsBoundedByTheIndex(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, strings.Repeat("x", 1000))
	})
	store := newMapCache()
	cache := acache.NewCache(httpcache.NewBackend(store), acache.WithMaxEntries(3))
	t.Cleanup(func() { cache.Close() })
	client := &http.Client{Transport: acache.NewTransport(cache)}
	for i := range 10 {
		readAll(t, client, newGet(t, fmt.Sprintf("%s/%d", o.URL, i)))
		assert.LessOrEqual(t, store.len(), 3, "entries in the store after %d URLs", i+1)
	}
	assert.Equal(t, 3, store.len())
	assert.EqualValues(t, 7, cache.Stats().Evictions)
	resp, _ := readAll(t, client, newGet(t, o.URL+"/9"))
	status, _ := acache.CacheStatusOf(resp)
	assert.True(t, status.Hit, "the most recent URL was evicted")

	// Bytes too.
	store = newMapCache()
	cache = acache.NewCache(httpcache.NewBackend(store), acache.WithMaxBytes(4000))
	t.Cleanup(func() { cache.Close() })
	client = &http.Client{Transport: acache.NewTransport(cache)}
	for i := range 10 {
		readAll(t, client, newGet(t, fmt.Sprintf("%s/%d", o.URL, i)))
	}
	var held int
	for _, b := range store.m {
		held += len(b)
	}
	assert.LessOrEqual(t, cache.Stats().Bytes, int64(4000))
	assert.Less(t, held, 4000+1000, "bytes in the store")
	assert.Less(t, store.len(), 4)
}

// Calls into a Cache are made one at a time: gregjones/httpcache's redis
// store wraps one redigo connection, which is not safe for concurrent use.
func TestStoreSerialisesCalls(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	store := newMapCache()
	client := httpcache.NewTransport(store).Client()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for j := range 20 {
				readAll(t, client, newGet(t, fmt.Sprintf("%s/%d", o.URL, (i+j)%8)))
			}
		})
	}
	wg.Wait()
	assert.NotZero(t, len(store.keys), "calls into the Cache")
	assert.Zero(t, store.overlaps.Load(), "calls into the Cache that overlapped")
}

// A request never fails because the Cache did: bytes that are not an entry
// are a miss and are removed, and a Cache that panics is left out.
func TestStoreFailuresFallBackToTheOrigin(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	store := newMapCache()
	backend := httpcache.NewBackend(store)
	cache := acache.NewCache(backend)
	t.Cleanup(func() { cache.Close() })
	client := &http.Client{Transport: acache.NewTransport(cache)}
	readAll(t, client, newGet(t, o.URL))
	require.Equal(t, 1, store.len())
	store.mu.Lock()
	for key := range store.m {
		store.m[key] = []byte("HTTP/1.1 200 OK\r\n\r\nwhat gregjones/httpcache stored")
	}
	store.mu.Unlock()
	_, body := readAll(t, client, newGet(t, o.URL))
	assert.Equal(t, "hello", body)
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")
	assert.NotZero(t, cache.Stats().Errors, "the corrupt entry was not reported")
	e, err := backend.Get(context.Background(), "nothing stored under this key")
	assert.NoError(t, err)
	assert.Nil(t, e)

	store.panics.Store(true)
	_, body = readAll(t, client, newGet(t, o.URL+"/other"))
	assert.Equal(t, "hello", body, "a request through a Cache that panics")
	_, err = backend.Get(context.Background(), "k")
	assert.ErrorContains(t, err, "panicked")
}

// valueCache is a Cache whose type cannot be compared (it holds a func), as
// a Transport's Cache field may be.
type valueCache struct {
	*mapCache
	_ func()
}

// A Transport over a Cache that cannot be compared binds to it once, and
// serves hits from it.
func TestTransportOverACacheThatCannotBeCompared(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	store := newMapCache()
	client := httpcache.NewTransport(valueCache{mapCache: store}).Client()
	readAll(t, client, newGet(t, o.URL))
	resp, _ := readAll(t, client, newGet(t, o.URL))
	assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache))
	assert.EqualValues(t, 1, o.hits.Load(), "requests that reached the origin")
	assert.Equal(t, 1, store.len())
}

// A Transport whose Cache field changes stores in the new Cache from its
// next request on.
func TestTransportFollowsItsCacheField(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	first, second := newMapCache(), newMapCache()
	tr := httpcache.NewTransport(first)
	readAll(t, tr.Client(), newGet(t, o.URL))
	tr.Cache = second
	resp, _ := readAll(t, tr.Client(), newGet(t, o.URL))
	assert.Empty(t, resp.Header.Get(httpcache.XFromCache), "served from the Cache the field no longer names")
	assert.Equal(t, 1, first.len())
	assert.Equal(t, 1, second.len())
}

// What gregjones/httpcache documents of Vary and only-if-cached holds over
// every kind of Cache: a response varies by the fields its Vary names, and
// a request "Cache-Control: only-if-cached" with nothing stored gets a 504.
func TestVaryAndOnlyIfCachedOverEveryCache(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept")
		fmt.Fprint(w, "as "+r.Header.Get("Accept"))
	})
	for name, newCache := range cacheKinds {
		client := httpcache.NewTransport(newCache()).Client()
		get := func(path, accept string) (*http.Response, string) {
			req := newGet(t, o.URL+path)
			req.Header.Set("Accept", accept)
			return readAll(t, client, req)
		}
		path := "/" + strings.ReplaceAll(name, " ", "-")
		before := o.hits.Load()
		get(path, "text/plain")
		get(path, "application/json")
		resp, body := get(path, "text/plain")
		assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "%s: the text/plain variant was not served", name)
		assert.Equal(t, "as text/plain", body, name)
		resp, body = get(path, "application/json")
		assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "%s: the application/json variant was not served", name)
		assert.Equal(t, "as application/json", body, name)
		assert.EqualValues(t, 2, o.hits.Load()-before, "%s: requests that reached the origin", name)

		req := newGet(t, o.URL+"/never"+path)
		req.Header.Set("Cache-Control", "only-if-cached")
		resp, _ = readAll(t, client, req)
		assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "%s: only-if-cached with nothing stored", name)
		assert.EqualValues(t, 2, o.hits.Load()-before, "%s: requests that reached the origin", name)
	}
}

// NewBackend keeps the Backend contract that acachetest checks: recency
// order, PopOldest, Len and Size, misses, concurrent use.
func TestNewBackendConformance(t *testing.T) {
	acachetest.TestBackend(t, func(t *testing.T) acache.Backend { return httpcache.NewBackend(newMapCache()) })
}
