package httpcache

import (
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/acachecontrol/acache"
)

// XFromCache is the header added to responses that are returned from the
// cache, when the Transport's MarkCachedResponses is set: "X-From-Cache: 1"
// on a fresh response served from the cache, one collapsed onto another
// request's, one the origin confirmed with a 304, and a stale one served
// because the origin failed (RFC 5861 stale-if-error).
const XFromCache = "X-From-Cache"

// Transport is an [http.RoundTripper] that answers from the cache what the
// caching rules allow, without a network request, and revalidates a stale
// stored response with its validators (ETag, Last-Modified) so that the
// origin can answer 304 Not Modified: an [acache.Transport] over an
// [acache.Cache] that stores its entries in the Cache field.
//
// Its fields are read at each request. The acache Cache over a Cache other
// than a *MemoryCache, with its index ([NewBackend]), is made at the first
// request and made anew when the field changes (a Cache of a type that
// cannot be compared is bound once).
type Transport struct {
	// Transport sends the requests the cache cannot answer; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Cache stores the responses. If nil, the Transport makes a MemoryCache
	// of its own at its first request.
	Cache Cache
	// MarkCachedResponses adds "X-From-Cache: 1" to the responses that came
	// from the cache (see [XFromCache]).
	MarkCachedResponses bool

	mu     sync.Mutex
	bound  Cache         // the Cache field engine was made for
	own    *MemoryCache  // the cache made for a nil Cache field
	engine *acache.Cache // over bound
}

// NewTransport returns a Transport that stores responses in c and marks
// those it serves from the cache (MarkCachedResponses is set).
func NewTransport(c Cache) *Transport {
	return &Transport{Cache: c, MarkCachedResponses: true}
}

// NewMemoryCacheTransport returns NewTransport([NewMemoryCache]()).
func NewMemoryCacheTransport() *Transport {
	return NewTransport(NewMemoryCache())
}

// Client returns an *http.Client whose requests go through t.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t}
}

// RoundTrip answers req as [acache.Transport.RoundTrip] does: from the
// cache when the caching rules allow it, else from the origin, revalidating
// a stale stored response with its validators. The response is marked with [XFromCache] when it came from
// the cache and MarkCachedResponses is set.
func (t *Transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	inner := acache.Transport{Transport: t.Transport, Cache: t.cache()}
	resp, err = inner.RoundTrip(req)
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

// cache returns the acache Cache of t's Cache field.
func (t *Transport) cache() *acache.Cache {
	c := t.Cache
	if m, ok := c.(*MemoryCache); ok && m != nil {
		return m.cache
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c == nil {
		if t.own == nil {
			t.own = NewMemoryCache()
		}
		return t.own.cache
	}
	if t.engine == nil || !sameCache(t.bound, c) {
		if t.engine != nil {
			go t.engine.Close() // its background work ends; requests under way still finish
		}
		t.bound, t.engine = c, acache.NewCache(NewBackend(c))
	}
	return t.engine
}

// sameCache reports whether a and b are one Cache. Two values of a type
// that cannot be compared are taken as one.
func sameCache(a, b Cache) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	return !ta.Comparable() || a == b
}

// engineOf returns the acache Cache that reads c: a MemoryCache's own, or a
// new one over c ([NewBackend]), which the caller closes once done.
func engineOf(c Cache) (engine *acache.Cache, made bool) {
	if m, ok := c.(*MemoryCache); ok && m != nil {
		return m.cache, false
	}
	return acache.NewCache(NewBackend(c)), true
}

// fromCache reports whether resp, from an acache Transport, was served from
// what the cache stores, as its Cache-Status member says (RFC 9211): a hit,
// a collapsed request, a stored response the origin confirmed with a 304,
// or a stale one served for a failed origin (RFC 5861 stale-if-error).
func fromCache(resp *http.Response) bool {
	if hit, sure := quickFromCache(resp.Header["Cache-Status"]); sure {
		return hit
	}
	s, ok := acache.CacheStatusOf(resp)
	return ok && (s.Hit || s.Collapsed ||
		s.FwdStatus == http.StatusNotModified && s.Stored ||
		strings.HasPrefix(s.Detail, "stale-if-error"))
}

// quickFromCache answers fromCache without parsing the field, for a hit or
// a collapsed request whose last member holds no quoted string, the way
// acache writes them: sure is false when it cannot tell.
func quickFromCache(lines []string) (fromCache, sure bool) {
	if len(lines) == 0 {
		return false, true
	}
	last := lines[len(lines)-1]
	if strings.IndexByte(last, '"') >= 0 {
		return false, false
	}
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	for param := range strings.SplitSeq(last, ";") {
		if p := strings.TrimSpace(param); p == "hit" || p == "collapsed" {
			return true, true
		}
	}
	return false, false
}
