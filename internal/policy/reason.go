package policy

import "math/bits"

// Reason is why a cache did not simply serve a stored response or store
// the one that arrived: a reason not to store it (a [Refusal] holds a set
// of those), a reason to send the request on as if there were no cache, or
// the way the cache answered instead. Its String is the detail of the
// Cache-Status member that says it ([RFC 9211 Section 2.8]); the root
// package gives every Reason its words (reasons.go), and a test checks that
// none lacks them.
//
// [RFC 9211 Section 2.8]: https://www.rfc-editor.org/rfc/rfc9211#section-2.8
type Reason uint8

// The reasons. The refusals come first, in the order of their bits in a
// Refusal: the first reason of a set is the one Cache-Status reports.
const (
	NoReason Reason = iota

	// Reasons not to store a response (RFC 9111 Section 3, and what the
	// cache cannot prove of a body or will not hold).
	ReasonMethod                // not GET or HEAD (Section 3)
	ReasonStatus                // a 1xx or 304 (Section 3)
	ReasonPartial               // a 206 not storable as an incomplete response (Sections 3.3, 3.4)
	ReasonRequestNoStore        // the request's no-store (Section 5.2.1.5)
	ReasonMustUnderstand        // must-understand, a status not understood (Section 5.2.2.3)
	ReasonNoStore               // the response's no-store (Section 5.2.2.5)
	ReasonPrivate               // private, in a shared cache (Section 5.2.2.7)
	ReasonAuthorization         // Authorization in a shared cache, not allowed by the response (Section 3.5)
	ReasonVaryStar              // a Vary no request can match (Section 4.1)
	ReasonNotCacheableByDefault // no explicit freshness, a status not heuristically cacheable (Section 3)
	ReasonAddedBelow            // credentials an inner RoundTripper added (Section 3.5)
	ReasonUnframed              // a body that cannot be proven complete (RFC 9112 Section 6.3)
	ReasonTooLarge              // over the body size limit or the whole cache
	ReasonRule                  // a rule's StoreNever
	ReasonStaleOnArrival        // stale, without a validator (Section 4.2)
	ReasonPartOfStored          // a part of what is stored complete (Section 3.4)
	ReasonBackendUnavailable    // the circuit breaker is open: no store can be made
	ReasonCutShort              // the body ended early, failed, or had another length than announced (Section 3.3)

	// Reasons to send a request on as if there were no cache.
	ReasonInvalidRequest // a field or method net/http refuses to send
	ReasonPrecondition   // If-Match, If-Unmodified-Since, an If-Range nothing stored answers (Section 4.3.2)
	ReasonUncacheableURL // no host, or bytes a key cannot hold (Section 2)
	ReasonNoStoreMode    // the Fetch no-store mode
	ReasonCacheError     // the cache failed, and left the request to the origin
	ReasonNilBackend     // a nil backend, which can store nothing

	// How the cache answered, when it did not simply serve or forward.
	ReasonReloadMode           // the Fetch reload mode: forwarded whatever is stored
	ReasonMultipleRanges       // several ranges go to the origin (RFC 9110 Section 14.2)
	ReasonOnlyIfCached         // 504: nothing stored may answer (Section 5.2.1.7)
	ReasonStaleWhileRevalidate // served stale while refreshed (RFC 5861 Section 3)
	ReasonStaleIfError         // served stale in place of a failed origin (RFC 5861 Section 4)
	ReasonMustRevalidate       // 504: the stored response must be revalidated, and the origin failed (Section 5.2.2.2)

	// ReasonCount is the number of reasons, NoReason included.
	ReasonCount
)

// firstRefusal is the Reason of a Refusal's lowest bit.
const firstRefusal = ReasonMethod

// reasonDetails are the Cache-Status details of the reasons.
var reasonDetails = [ReasonCount]string{
	ReasonMethod:                "method",
	ReasonStatus:                "status",
	ReasonPartial:               "partial content",
	ReasonRequestNoStore:        "request no-store",
	ReasonMustUnderstand:        "must-understand",
	ReasonNoStore:               "no-store",
	ReasonPrivate:               "private",
	ReasonAuthorization:         "authorization",
	ReasonVaryStar:              "vary *",
	ReasonNotCacheableByDefault: "status not cacheable by default",
	ReasonAddedBelow:            "authorization added below the cache",
	ReasonUnframed:              "unframed body",
	ReasonTooLarge:              "too large",
	ReasonRule:                  "rule",
	ReasonStaleOnArrival:        "stale on arrival",
	ReasonPartOfStored:          "part of a stored response",
	ReasonBackendUnavailable:    "backend unavailable",
	ReasonCutShort:              "body cut short",

	ReasonInvalidRequest: "invalid request",
	ReasonPrecondition:   "precondition",
	ReasonUncacheableURL: "uncacheable URL",
	ReasonNoStoreMode:    "no-store mode",
	ReasonCacheError:     "cache error",
	ReasonNilBackend:     "nil backend",

	ReasonReloadMode:           "reload mode",
	ReasonMultipleRanges:       "multiple ranges",
	ReasonOnlyIfCached:         "only-if-cached",
	ReasonStaleWhileRevalidate: "stale-while-revalidate",
	ReasonStaleIfError:         "stale-if-error",
	ReasonMustRevalidate:       "must-revalidate",
}

// String returns the reason's Cache-Status detail, or "" for NoReason.
func (r Reason) String() string {
	if r >= ReasonCount {
		return ""
	}
	return reasonDetails[r]
}

// ReasonOf returns the Reason whose detail begins the Cache-Status detail
// s, and what follows its ": " (the origin's error, after stale-if-error
// or must-revalidate); false when no reason has that detail.
func ReasonOf(s string) (r Reason, rest string, ok bool) {
	for r := NoReason + 1; r < ReasonCount; r++ {
		d := reasonDetails[r]
		if s == d {
			return r, "", true
		}
		if len(s) > len(d)+2 && s[:len(d)] == d && s[len(d):len(d)+2] == ": " {
			return r, s[len(d)+2:], true
		}
	}
	return NoReason, "", false
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

// The refusals, one bit each, in the order of their reasons.
const (
	RefuseMethod                = Refusal(1) << (ReasonMethod - firstRefusal)
	RefuseStatus                = Refusal(1) << (ReasonStatus - firstRefusal)
	RefusePartial               = Refusal(1) << (ReasonPartial - firstRefusal)
	RefuseRequestNoStore        = Refusal(1) << (ReasonRequestNoStore - firstRefusal)
	RefuseMustUnderstand        = Refusal(1) << (ReasonMustUnderstand - firstRefusal)
	RefuseNoStore               = Refusal(1) << (ReasonNoStore - firstRefusal)
	RefusePrivate               = Refusal(1) << (ReasonPrivate - firstRefusal)
	RefuseAuthorization         = Refusal(1) << (ReasonAuthorization - firstRefusal)
	RefuseVaryStar              = Refusal(1) << (ReasonVaryStar - firstRefusal)
	RefuseNotCacheableByDefault = Refusal(1) << (ReasonNotCacheableByDefault - firstRefusal)
	RefuseAddedBelow            = Refusal(1) << (ReasonAddedBelow - firstRefusal)
	RefuseUnframed              = Refusal(1) << (ReasonUnframed - firstRefusal)
	RefuseTooLarge              = Refusal(1) << (ReasonTooLarge - firstRefusal)
	RefuseRule                  = Refusal(1) << (ReasonRule - firstRefusal)
	RefuseStaleOnArrival        = Refusal(1) << (ReasonStaleOnArrival - firstRefusal)
	RefusePartOfStored          = Refusal(1) << (ReasonPartOfStored - firstRefusal)
	RefuseBackendUnavailable    = Refusal(1) << (ReasonBackendUnavailable - firstRefusal)
	RefuseCutShort              = Refusal(1) << (ReasonCutShort - firstRefusal)

	refusalCount = ReasonCutShort - firstRefusal + 1
)

// Overridable is what a rule with StoreAlways overrides: the response's
// no-store and a status not cacheable by default. Nothing else: not what
// keeps users apart (private, Authorization, credentials added below the
// cache, the request's no-store), nor what keeps stored bytes whole (a 206,
// an unframed body), nor Vary: *.
const Overridable = RefuseNoStore | RefuseNotCacheableByDefault

// Reason returns the first reason in r, the one Cache-Status reports, or
// NoReason for the empty set.
func (r Refusal) Reason() Reason {
	if r == 0 {
		return NoReason
	}
	return firstRefusal + Reason(bits.TrailingZeros32(uint32(r)))
}

// String returns the Cache-Status detail of the first reason in r, or "" for
// the empty set.
func (r Refusal) String() string { return r.Reason().String() }
