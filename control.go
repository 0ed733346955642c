package acache

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// This file holds what one request may ask of the cache beyond its header
// fields: a mode, named after the Fetch standard's, and a freshness of its
// own, carried in the request's context.

// Mode is how one request uses the cache. The modes are those of a request's
// cache mode in the [Fetch standard], which browsers implement for fetch():
// the same names, the same meaning.
//
// [Fetch standard]: https://fetch.spec.whatwg.org/#concept-request-cache-mode
type Mode uint8

const (
	// ModeDefault applies RFC 9111: a fresh stored response is served, a
	// stale one revalidated, and the origin's response stored.
	ModeDefault Mode = iota
	// ModeNoStore behaves as if there were no cache: nothing is looked up
	// and nothing stored. The request is sent with Cache-Control: no-cache
	// and Pragma: no-cache unless it has its own, so that caches on the way
	// do not answer it either (Fetch, HTTP-network-or-cache fetch, step 8.17).
	ModeNoStore
	// ModeReload goes to the origin without a conditional request, whatever
	// is stored, and stores the response. It is sent with Cache-Control:
	// no-cache and Pragma: no-cache unless it has its own.
	ModeReload
	// ModeNoCache revalidates a stored response with the origin even when it
	// is fresh (a conditional request), and goes to the origin when nothing
	// is stored. It is sent with Cache-Control: max-age=0 unless it has its
	// own Cache-Control.
	ModeNoCache
	// ModeForceCache serves a stored response that matches the request
	// (Vary included) however stale it is, without validation; when nothing
	// matches, the request goes to the origin as in ModeDefault.
	ModeForceCache
	// ModeOnlyIfCached serves a stored response as ModeForceCache does, and
	// never goes to the origin: without one, the request fails with
	// [ErrNotCached] (Fetch returns a network error).
	ModeOnlyIfCached
)

// String returns the Fetch standard's name of m, such as "no-store".
func (m Mode) String() string {
	switch m {
	case ModeDefault:
		return "default"
	case ModeNoStore:
		return "no-store"
	case ModeReload:
		return "reload"
	case ModeNoCache:
		return "no-cache"
	case ModeForceCache:
		return "force-cache"
	case ModeOnlyIfCached:
		return "only-if-cached"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ErrNotCached is the error of a request in [ModeOnlyIfCached] for which no
// stored response matches.
var ErrNotCached = errors.New("acache: only-if-cached: no stored response matches the request")

// Control is what one request asks of the cache beyond its header fields. The
// zero Control changes nothing.
type Control struct {
	// Mode is how the request uses the cache.
	Mode Mode
	// FreshFor, when positive, is the freshness lifetime of the stored
	// response for this request, replacing the one its header fields give
	// (RFC 9111 Section 4.2.1): it is served while its age is less than
	// FreshFor, and revalidated after. A response the origin marked no-cache
	// is still revalidated every time: FreshFor changes how long a response
	// is fresh, not whether it may be served without validation.
	FreshFor time.Duration
}

type controlKey struct{}

// WithControl returns a copy of ctx that carries ctl, for a request made
// with it:
//
//	ctx := acache.WithControl(ctx, acache.Control{Mode: acache.ModeReload})
//	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
func WithControl(ctx context.Context, ctl Control) context.Context {
	return context.WithValue(ctx, controlKey{}, ctl)
}

// controlOf returns the Control that ctx carries, and whether it carries one.
func controlOf(ctx context.Context) (Control, bool) {
	ctl, ok := ctx.Value(controlKey{}).(Control)
	return ctl, ok
}
