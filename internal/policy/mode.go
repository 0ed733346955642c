package policy

// Mode is a request's own cache mode, the Fetch standard's cache modes
// (https://fetch.spec.whatwg.org/#concept-request-cache-mode), as the
// verdict reads them. The root package's Mode has the same values.
type Mode uint8

// The modes; see the root package's Mode for what each does.
const (
	ModeDefault Mode = iota
	ModeNoStore
	ModeReload
	ModeNoCache
	ModeForceCache
	ModeOnlyIfCached
)

// The fwd parameter values of a Cache-Status member (RFC 9211 Section 2.2):
// why a request went forward to the origin.
const (
	FwdBypass   = "bypass"    // the cache was configured or decided not to handle the request
	FwdMethod   = "method"    // the request method is not cacheable
	FwdURIMiss  = "uri-miss"  // nothing was stored for the URI
	FwdVaryMiss = "vary-miss" // a response was stored, for another variant
	FwdMiss     = "miss"      // the cache did not find a usable response
	FwdRequest  = "request"   // the request's directives asked for the origin
	FwdStale    = "stale"     // the stored response was stale
	FwdPartial  = "partial"   // the stored response was incomplete (RFC 9111 Section 3.3)
)
