package httpcache

import (
	"errors"
	"net/http"
	"time"

	"github.com/acachecontrol/acache"
)

// ErrNoDateHeader is the error of [Date] for header fields without a Date.
var ErrNoDateHeader = errors.New("no Date header")

// errNotAbsolute is the error for a gregjones/httpcache key whose URL is not
// absolute.
var errNotAbsolute = errors.New("not an absolute URL")

// Date returns the time the Date field of respHeaders says, read as an
// HTTP-date ([RFC 9110 Section 5.6.7], in any of the three formats a
// recipient must accept).
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func Date(respHeaders http.Header) (date time.Time, err error) {
	dateHeader := respHeaders.Get("Date")
	if dateHeader == "" {
		return time.Time{}, ErrNoDateHeader
	}
	return http.ParseTime(dateHeader)
}

// CachedResponse returns the response c holds for req, however stale, or nil when it
// holds none that matches req (another URL, another Vary selection, another
// user's response). It never contacts the origin: req is answered as in
// [acache.ModeOnlyIfCached] (a 304 or a 206 when req's own validators or
// Range ask for one), and counts as a hit in the Stats of c's acache
// Cache. The error is req's context's, or nil.
func CachedResponse(c Cache, req *http.Request) (resp *http.Response, err error) {
	if c == nil || req == nil || req.URL == nil {
		return nil, nil
	}
	engine, made := engineOf(c)
	if made {
		defer engine.Close()
	}
	ctx := acache.WithControl(req.Context(), acache.Control{Mode: acache.ModeOnlyIfCached})
	inner := acache.Transport{Transport: refuse{}, Cache: engine}
	resp, err = inner.RoundTrip(req.WithContext(ctx))
	if errors.Is(err, acache.ErrNotCached) || errors.Is(err, errNotSent) {
		return nil, nil
	}
	return resp, err
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
