package acache

import "math/bits"

// refusal is a set of reasons not to store a response: the rules of
// [RFC 9111 Section 3], what the cache cannot prove of a body, and the
// Cache's own limits and rules. Every reason that applies is in the set, not
// only the first found, so that overriding one (a rule's StoreAlways) never
// hides another. The zero value is the empty set: the response may be
// stored.
//
// [RFC 9111 Section 3]: https://www.rfc-editor.org/rfc/rfc9111#section-3
type refusal uint32

// The reasons, in the order Cache-Status reports them: the first in a set is
// its detail. Each detail has its words in explain.go.
const (
	refuseMethod                refusal = 1 << iota // not GET or HEAD (Section 3)
	refuseStatus                                    // a 1xx or 304 (Section 3)
	refusePartial                                   // a 206 not storable as an incomplete response (Sections 3.3, 3.4)
	refuseRequestNoStore                            // the request's no-store (Section 5.2.1.5)
	refuseMustUnderstand                            // must-understand, a status not understood (Section 5.2.2.3)
	refuseNoStore                                   // the response's no-store (Section 5.2.2.5)
	refusePrivate                                   // private, in a shared cache (Section 5.2.2.7)
	refuseAuthorization                             // Authorization in a shared cache, not allowed by the response (Section 3.5)
	refuseVaryStar                                  // a Vary no request can match (Section 4.1)
	refuseNotCacheableByDefault                     // no explicit freshness, a status not heuristically cacheable (Section 3)
	refuseAddedBelow                                // credentials an inner RoundTripper added (Section 3.5)
	refuseUnframed                                  // a body that cannot be proven complete (RFC 9112 Section 6.3)
	refuseTooLarge                                  // over WithMaxBodySize or WithMaxBytes
	refuseRule                                      // a rule's StoreNever (WithRule)
	refuseStaleOnArrival                            // stale, without a validator (Section 4.2)
	refusePartOfStored                              // a part of what is stored complete (Section 3.4)
	refuseBackendUnavailable                        // the circuit breaker is open: no store can be made
	refuseCutShort                                  // the body ended early, failed, or had another length than announced (Section 3.3)
	refusalCount                = iota
)

// overridable is what a rule with StoreAlways overrides: the response's
// no-store and a status not cacheable by default. Nothing else: not what
// keeps users apart (private, Authorization, credentials added below the
// cache, the request's no-store), nor what keeps stored bytes whole (a 206,
// an unframed body), nor Vary: *.
const overridable = refuseNoStore | refuseNotCacheableByDefault

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
func (r refusal) String() string {
	if r == 0 {
		return ""
	}
	return refusalDetails[bits.TrailingZeros32(uint32(r))]
}
