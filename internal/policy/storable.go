package policy

import (
	"math/bits"
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

// Refusal is a set of reasons not to store a response: the rules of
// [RFC 9111 Section 3], what the cache cannot prove of a body, and the
// Cache's own limits and rules. Every reason that applies is in the set, not
// only the first found, so that overriding one (a rule's StoreAlways) never
// hides another. The zero value is the empty set: the response may be
// stored.
//
// [RFC 9111 Section 3]: https://www.rfc-editor.org/rfc/rfc9111#section-3
type Refusal uint32

// The reasons, in the order Cache-Status reports them: the first in a set is
// its detail. Each detail has its words in explain.go.
const (
	RefuseMethod                Refusal = 1 << iota // not GET or HEAD (Section 3)
	RefuseStatus                                    // a 1xx or 304 (Section 3)
	RefusePartial                                   // a 206 not storable as an incomplete response (Sections 3.3, 3.4)
	RefuseRequestNoStore                            // the request's no-store (Section 5.2.1.5)
	RefuseMustUnderstand                            // must-understand, a status not understood (Section 5.2.2.3)
	RefuseNoStore                                   // the response's no-store (Section 5.2.2.5)
	RefusePrivate                                   // private, in a shared cache (Section 5.2.2.7)
	RefuseAuthorization                             // Authorization in a shared cache, not allowed by the response (Section 3.5)
	RefuseVaryStar                                  // a Vary no request can match (Section 4.1)
	RefuseNotCacheableByDefault                     // no explicit freshness, a status not heuristically cacheable (Section 3)
	RefuseAddedBelow                                // credentials an inner RoundTripper added (Section 3.5)
	RefuseUnframed                                  // a body that cannot be proven complete (RFC 9112 Section 6.3)
	RefuseTooLarge                                  // over WithMaxBodySize or WithMaxBytes
	RefuseRule                                      // a rule's StoreNever (WithRule)
	RefuseStaleOnArrival                            // stale, without a validator (Section 4.2)
	RefusePartOfStored                              // a part of what is stored complete (Section 3.4)
	RefuseBackendUnavailable                        // the circuit breaker is open: no store can be made
	RefuseCutShort                                  // the body ended early, failed, or had another length than announced (Section 3.3)
	refusalCount                = iota
)

// Overridable is what a rule with StoreAlways overrides: the response's
// no-store and a status not cacheable by default. Nothing else: not what
// keeps users apart (private, Authorization, credentials added below the
// cache, the request's no-store), nor what keeps stored bytes whole (a 206,
// an unframed body), nor Vary: *.
const Overridable = RefuseNoStore | RefuseNotCacheableByDefault

// refusalDetails are the Cache-Status details of the reasons, by bit.
var refusalDetails = [refusalCount]string{
	"method",
	"status",
	"partial content",
	"request no-store",
	"must-understand",
	"no-store",
	"private",
	"authorization",
	"vary *",
	"status not cacheable by default",
	"authorization added below the cache",
	"unframed body",
	"too large",
	"rule",
	"stale on arrival",
	"part of a stored response",
	"backend unavailable",
	"body cut short",
}

// String returns the Cache-Status detail of the first reason in r, or "" for
// the empty set.
func (r Refusal) String() string {
	if r == 0 {
		return ""
	}
	return refusalDetails[bits.TrailingZeros32(uint32(r))]
}

// Refusals returns every reason, one bit each, in the order of their
// details.
func Refusals() []Refusal {
	all := make([]Refusal, 0, refusalCount)
	for bit := Refusal(1); bit < 1<<refusalCount; bit <<= 1 {
		all = append(all, bit)
	}
	return all
}
