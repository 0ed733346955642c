package httpcache

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/acachecontrol/acache"
)

// MemoryCache is an implementation of Cache that stores responses in
// memory: an [acache.Cache] over acache's in-memory LRU ([acache.NewLRU]),
// bounded by default to 10,000 entries and 64 MiB where gregjones/httpcache's
// map grows without bound. A Transport over a *MemoryCache serves its hits
// from the LRU, without encoding or decoding an entry.
//
// Its Get, Set and Delete methods take two kinds of keys:
//
//   - the keys a Transport passes to any Cache (see [Cache]), when a
//     MemoryCache is wrapped in a Cache of the user's (one that counts or
//     logs, say): the Transport then stores through Set, and those entries
//     are kept apart, bounded by the Transport;
//   - gregjones/httpcache's keys, a URL (for GET) or a method, a space and a
//     URL: Get returns the response stored for a GET of the URL with no
//     request fields, however stale, in httputil.DumpResponse form, as
//     gregjones/httpcache stored it; Set stores such a response if the
//     caching rules allow it (RFC 9111 Section 3); Delete removes every
//     response stored for the URL ([acache.Cache.Purge]).
type MemoryCache struct {
	cache *acache.Cache

	mu      sync.Mutex
	wrapped map[string][]byte // the entries stored through Set by a Transport's key
}

// NewMemoryCache returns an empty MemoryCache with acache's default limits ([acache.NewCache] with a nil backend).
func NewMemoryCache() *MemoryCache {
	return NewMemoryCacheWith()
}

// NewMemoryCacheWith returns a new MemoryCache whose [acache.Cache] takes
// options: other limits, a shared cache, [acache.WithStaleOnError], a
// clock, ...
func NewMemoryCacheWith(options ...acache.Option) *MemoryCache {
	return &MemoryCache{cache: acache.NewCache(nil, options...)}
}

// Cache returns the [acache.Cache] that holds c's responses: for its Stats,
// Explain, Purge and Inspect, or to use it with [acache.Transport].
func (c *MemoryCache) Cache() *acache.Cache {
	return c.cache
}

// Get returns the bytes of the response stored under key, and whether one
// is. See [MemoryCache] for the keys it
// takes.
func (c *MemoryCache) Get(key string) (resp []byte, ok bool) {
	if isStoreKey(key) {
		c.mu.Lock()
		defer c.mu.Unlock()
		resp, ok = c.wrapped[key]
		return resp, ok
	}
	req, err := requestOf(key)
	if err != nil {
		return nil, false
	}
	stored, err := CachedResponse(c, req)
	if err != nil || stored == nil {
		return nil, false
	}
	defer stored.Body.Close()
	resp, err = httputil.DumpResponse(stored, true)
	return resp, err == nil
}

// Set stores the response resp under key. See [MemoryCache] for the
// keys it takes; a response the caching rules do not let it store, and
// bytes it cannot read as a response, are not stored.
func (c *MemoryCache) Set(key string, resp []byte) {
	if isStoreKey(key) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.wrapped == nil {
			c.wrapped = make(map[string][]byte)
		}
		c.wrapped[key] = resp
		return
	}
	req, err := requestOf(key)
	if err != nil {
		return
	}
	stored, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), req)
	if err != nil {
		return
	}
	ctx := acache.WithControl(req.Context(), acache.Control{Mode: acache.ModeReload})
	replay := acache.Transport{Transport: replay{stored}, Cache: c.cache}
	if got, err := replay.RoundTrip(req.WithContext(ctx)); err == nil {
		io.Copy(io.Discard, got.Body) // stored once read to its end
		got.Body.Close()
	}
}

// Delete removes what is stored under key. See [MemoryCache] for the keys it
// takes.
func (c *MemoryCache) Delete(key string) {
	if isStoreKey(key) {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.wrapped, key)
		return
	}
	if req, err := requestOf(key); err == nil {
		c.cache.Purge(context.Background(), req.URL.String())
	}
}

// isStoreKey reports whether key is one a Transport passes to a Cache: 64
// lowercase hexadecimal digits.
func isStoreKey(key string) bool {
	if len(key) != 2*32 {
		return false
	}
	for i := range len(key) {
		if !('0' <= key[i] && key[i] <= '9' || 'a' <= key[i] && key[i] <= 'f') {
			return false
		}
	}
	return true
}

// requestOf returns the request that gregjones/httpcache's key stands for:
// a GET of the URL key, or, for "METHOD URL", that method's.
func requestOf(key string) (*http.Request, error) {
	method, rawURL := http.MethodGet, key
	if m, u, ok := strings.Cut(key, " "); ok {
		method, rawURL = m, u
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		return nil, &url.Error{Op: "parse", URL: rawURL, Err: errNotAbsolute}
	}
	return http.NewRequest(method, u.String(), nil)
}

// replay is the inner transport of MemoryCache.Set: it answers with the
// response given to Set.
type replay struct{ resp *http.Response }

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	resp := *r.resp
	resp.Request = req
	return &resp, nil
}
