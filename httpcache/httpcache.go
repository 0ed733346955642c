// Package httpcache carries the names of github.com/gregjones/httpcache over
// to acache, so that code written against it moves by a change of import:
//
//	import "github.com/acachecontrol/acache/httpcache"
//
//	client := httpcache.NewMemoryCacheTransport().Client()
//
// The cache behind these names is an [acache.Cache]: RFC 9111, bounded in
// memory, with collapsed requests and stale-while-revalidate, where
// gregjones/httpcache's map grows without bound. Its Transport is an
// [acache.Transport] that adds the X-From-Cache marker gregjones/httpcache
// adds. The README's "Migrating from gregjones/httpcache" section says what
// maps to what, and which behaviours differ on purpose.
package httpcache

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/acachecontrol/acache"
)

// XFromCache is the header field that marks a response from the cache:
// "X-From-Cache: 1" on a response served from what is stored, fresh, stale
// or revalidated, when the Transport's MarkCachedResponses is set.
const XFromCache = "X-From-Cache"

// Transport is an [http.RoundTripper] that answers from an [acache.Cache]
// what it can, with the fields of gregjones/httpcache's Transport. Its
// fields are read at each request, and must not change while one runs.
type Transport struct {
	// Transport is the RoundTripper that requests the cache cannot answer
	// go to. If nil, http.DefaultTransport is used.
	Transport http.RoundTripper
	// Cache holds the stored responses. If nil, the Transport uses a
	// private in-memory Cache of its own, made at its first request.
	Cache *acache.Cache
	// MarkCachedResponses adds "X-From-Cache: 1" to every response served
	// from the cache: a hit, a response collapsed onto another request's,
	// one the origin confirmed with a 304, and a stale one served when the
	// origin failed.
	MarkCachedResponses bool

	// own is the Cache the Transport made for itself when Cache is nil.
	own atomic.Pointer[acache.Cache]
}

// NewTransport returns a Transport over c that marks cached responses; a
// nil c means a new in-memory cache, [NewMemoryCache].
func NewTransport(c *acache.Cache) *Transport {
	if c == nil {
		c = NewMemoryCache()
	}
	return &Transport{Cache: c, MarkCachedResponses: true}
}

// NewMemoryCache returns a new private in-memory cache with acache's
// default limits: [acache.NewCache](nil), 10,000 entries and 64 MiB at
// most, where gregjones/httpcache's map grows without bound.
func NewMemoryCache() *acache.Cache {
	return acache.NewCache(nil)
}

// NewMemoryCacheTransport returns a Transport over a new in-memory cache
// that marks cached responses.
func NewMemoryCacheTransport() *Transport {
	return NewTransport(nil)
}

// Client returns an *http.Client that uses t.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t}
}

// RoundTrip implements [http.RoundTripper], as [acache.Transport.RoundTrip]
// does, and marks the response when it came from the cache.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	inner := acache.Transport{Transport: t.Transport, Cache: t.cache()}
	resp, err := inner.RoundTrip(req)
	if err == nil && t.MarkCachedResponses && fromCache(resp) {
		resp.Header[XFromCache] = []string{"1"}
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the inner transport,
// so that [http.Client.CloseIdleConnections] reaches it.
func (t *Transport) CloseIdleConnections() {
	inner := t.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	if closer, ok := inner.(interface{ CloseIdleConnections() }); ok {
		closer.CloseIdleConnections()
	}
}

// cache returns the Cache t uses: its Cache field, or one of its own.
func (t *Transport) cache() *acache.Cache {
	if t.Cache != nil {
		return t.Cache
	}
	if c := t.own.Load(); c != nil {
		return c
	}
	t.own.CompareAndSwap(nil, NewMemoryCache())
	return t.own.Load()
}

// fromCache reports whether resp, from an acache Transport, was served from
// what the cache stores, as its Cache-Status member says (RFC 9211): a hit,
// a collapsed request, a stored response the origin confirmed with a 304,
// or a stale one served for a failed origin (RFC 5861 stale-if-error).
func fromCache(resp *http.Response) bool {
	s, ok := acache.CacheStatusOf(resp)
	return ok && (s.Hit || s.Collapsed ||
		s.FwdStatus == http.StatusNotModified && s.Stored ||
		strings.HasPrefix(s.Detail, "stale-if-error"))
}

// errNotSent is what CachedResponse's inner transport answers a request the
// cache would send to the origin: CachedResponse never sends one.
var errNotSent = errors.New("httpcache: CachedResponse sends nothing")

// refuse is the inner transport of CachedResponse.
type refuse struct{}

func (refuse) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, errNotSent
}

// CachedResponse returns the response c holds for req, however stale, as
// gregjones/httpcache's CachedResponse does, or nil when it holds none that
// matches req (another URL, another Vary selection, another user's
// response). It never contacts the origin: req is answered as in
// [acache.ModeOnlyIfCached] (a 304 or a 206 when req's own validators or
// Range ask for one), and counts as a hit in the Cache's Stats. The error is
// req's context's, or nil.
func CachedResponse(c *acache.Cache, req *http.Request) (*http.Response, error) {
	if c == nil || req == nil || req.URL == nil {
		return nil, nil
	}
	ctx := acache.WithControl(req.Context(), acache.Control{Mode: acache.ModeOnlyIfCached})
	inner := acache.Transport{Transport: refuse{}, Cache: c}
	resp, err := inner.RoundTrip(req.WithContext(ctx))
	if errors.Is(err, acache.ErrNotCached) || errors.Is(err, errNotSent) {
		return nil, nil
	}
	return resp, err
}
