package acache

// This file holds the names that code written against
// github.com/gregjones/httpcache reaches for, where they fit acache, so that
// moving to acache is a change of import and constructor. The README's
// "Migrating from gregjones/httpcache" section maps the rest.

import (
	"context"
	"errors"
	"net/http"

	"github.com/acachecontrol/acache/internal/policy"
)

// NewMemoryCacheTransport returns a Transport over a new private in-memory
// cache with the default limits: [NewTransport](nil). It keeps the name
// gregjones/httpcache gives the same thing, whose map grows without bound;
// this one is an [LRU] bounded by [DefaultMaxEntries] and [DefaultMaxBytes].
func NewMemoryCacheTransport() *Transport {
	return NewTransport(nil)
}

// NewMemoryCache returns a new private in-memory cache with the default
// limits: [NewCache](nil), an [LRU] bounded by [DefaultMaxEntries] and
// [DefaultMaxBytes]. It keeps the name gregjones/httpcache gives its map,
// so that httpcache.NewTransport(httpcache.NewMemoryCache()) carries over
// with a change of import.
func NewMemoryCache() *Cache {
	return NewCache(nil)
}

// CachedResponse returns the response the Cache would serve req from what it
// holds, without contacting the origin, or nil when it would not serve one:
// nothing is stored for req, or what is stored is stale
// ([RFC 9111 Section 4.2]) or otherwise needs the origin (a request
// no-cache, a Vary it does not match, another user's response). The
// response is built as a hit is, with Age and Cache-Status; it is a 304 or a
// 206 when req's own validators or Range ask for one, and it counts as a hit
// in [Stats]. req is not sent and its body is left alone.
//
// It is the method form of gregjones/httpcache's CachedResponse(c, req),
// which returned whatever was stored, however stale; [Cache.Stored] lists
// everything stored for a URL, fresh or not.
//
// CachedResponse returns an error only for a nil request or URL, and when
// req's context is done.
//
// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
func (c *Cache) CachedResponse(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("acache: CachedResponse of a nil request or URL")
	}
	if c == nil {
		return nil, nil // a nil Cache holds nothing
	}
	c.ready()
	d := c.decide(req)
	if err := req.Context().Err(); err != nil {
		return nil, context.Cause(req.Context())
	}
	if d.Action != policy.Serve {
		return nil, nil
	}
	return c.hit(req, &d), nil
}
