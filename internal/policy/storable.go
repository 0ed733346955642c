package policy

import (
	"net/http"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds what a cache may store (RFC 9111 Section 3), as a set of
// reasons not to.

// StorablePartial reports whether resp, a 206 answering req, may be stored as
// an incomplete response ([RFC 9111 Section 3.3]): the answer to a GET with
// a single Content-Range of a known length, a Content-Length (if known) that
// agrees with it, a strong entity-tag, and bytes as the origin encoded them.
//
// [RFC 9111 Section 3.3]: https://www.rfc-editor.org/rfc/rfc9111#section-3.3
func StorablePartial(req *http.Request, resp *http.Response) bool {
	if req.Method != http.MethodGet || resp.Uncompressed {
		return false
	}
	s, ok := httpsyntax.ContentRange(resp.Header)
	if !ok || resp.ContentLength >= 0 && resp.ContentLength != s.Length() {
		return false
	}
	_, strong := httpsyntax.StrongETag(resp.Header)
	return strong
}

// Storable returns every reason a cache may not store the response to req,
// per [RFC 9111 Section 3]: the empty set when it may. It does not look at
// the body; the cache also refuses bodies it cannot prove complete
// (Section 3.3).
//
// [RFC 9111 Section 3]: https://www.rfc-editor.org/rfc/rfc9111#section-3
func Storable(req *http.Request, reqCC httpsyntax.CacheControl, resp *http.Response, cc httpsyntax.CacheControl, shared bool) Refusal {
	var r Refusal
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r |= RefuseMethod
	}
	if resp.StatusCode < 200 || resp.StatusCode == http.StatusNotModified {
		r |= RefuseStatus
	}
	if resp.StatusCode == http.StatusPartialContent && !StorablePartial(req, resp) {
		// Sections 3.3 and 3.4: a part is stored only as an incomplete
		// response that can be combined (partial.go); a 200 with a
		// Content-Range is a complete response like any other.
		r |= RefusePartial
	}
	if reqCC.NoStore {
		r |= RefuseRequestNoStore
	}
	if cc.MustUnderstand && !UnderstoodStatus(resp.StatusCode) {
		r |= RefuseMustUnderstand // Section 5.2.2.3
	}
	if cc.NoStore && !cc.MustUnderstand {
		r |= RefuseNoStore // must-understand overrides no-store (Section 5.2.2.3)
	}
	if shared && cc.Private {
		r |= RefusePrivate
	}
	if shared && len(req.Header["Authorization"]) > 0 && !cc.Public && !cc.MustRevalidate && !cc.SMaxAge.Set {
		r |= RefuseAuthorization // Section 3.5
	}
	if VaryNeverMatches(resp.Header) {
		r |= RefuseVaryStar // Section 4.1: can never be matched (or too costly to)
	}
	_, expires := resp.Header["Expires"]
	if !(expires && !cc.Targeted || cc.Public || cc.Private || cc.MaxAge.Set ||
		(shared && cc.SMaxAge.Set) || HeuristicallyCacheable(resp.StatusCode)) {
		r |= RefuseNotCacheableByDefault
	}
	return r
}

// UnderstoodStatus reports the status codes whose caching requirements this
// cache implements, for must-understand ([RFC 9111 Section 5.2.2.3]): the
// final statuses of RFC 9110 that it stores and serves as complete responses.
//
// [RFC 9111 Section 5.2.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.3
func UnderstoodStatus(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}
