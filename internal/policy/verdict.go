package policy

import (
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds the verdict: what a cache does with a request, from what
// it found (RFC 9111 Section 4).

// Action is what the cache does with a request.
type Action int

const (
	// Forward sends the request to the origin: nothing stored answers it.
	Forward Action = iota
	// Serve answers from the stored response, without the origin.
	Serve
	// Revalidate asks the origin, with a conditional request, whether the
	// stored response is still current (RFC 9111 Section 4.3.1).
	Revalidate
	// ServeStale answers from the stale stored response at once and
	// refreshes it in the background (stale-while-revalidate, RFC 5861
	// Section 3).
	ServeStale
	// GatewayTimeout answers 504: the request allows only a stored response
	// and none will do (RFC 9111 Section 5.2.1.7).
	GatewayTimeout
)

// Verdict is what the cache does with a request, and why: the Cache-Status
// fwd parameter of RFC 9211 when the request goes forward, and the reason
// its detail gives.
type Verdict struct {
	Action Action
	Fwd    string
	Reason Reason
}

// Found is what a lookup Found for a request: the inputs of [decideVerdict].
type Found struct {
	// Facts describes the stored response selected for the request, or is
	// nil when there is none; varyMiss reports that responses are stored for
	// the URI but none for the request's Vary selection.
	Facts    *Facts
	VaryMiss bool
	Age      time.Duration // the selected response's current age

	ReqCC httpsyntax.CacheControl
	// Conditionals reports the caller's own If-None-Match or
	// If-Modified-Since, which go to the origin as they are (Section 4.3.2);
	// Resendable that the request can be sent twice.
	Conditionals, Resendable bool
	// Ranges is what the request's Range makes of the stored response.
	Ranges httpsyntax.RangeOutcome
	Shared bool
	// Mode is the request's own cache Mode (Control.Mode).
	Mode Mode
	// UnionETag reports that the caller's own If-None-Match may carry the
	// stored response's entity-tag too (RFC 9111 Section 4.3.2).
	UnionETag bool
}

// DecideVerdict decides what the cache does with a request from what it
// found, per [RFC 9111 Section 4]: serve a stored response that is servable
// (Section 4.2, and the request's directives, Section 5.2.1); revalidate one
// that is not, when it has a validator and the request has none of its own
// (Section 4.3.1); otherwise forward. A request with only-if-cached that
// cannot be served gets 504 instead (Section 5.2.1.7). Each rule is a row of
// its table test: stale responses and per-request modes are rows here.
//
// [RFC 9111 Section 4]: https://www.rfc-editor.org/rfc/rfc9111#section-4
func DecideVerdict(f *Found) Verdict {
	v := decideForward(f)
	if v.Action != Serve && v.Action != ServeStale && f.ReqCC.OnlyIfCached {
		return Verdict{Action: GatewayTimeout, Fwd: FwdMiss, Reason: ReasonOnlyIfCached}
	}
	return v
}

// decideForward is decideVerdict without only-if-cached.
func decideForward(f *Found) Verdict {
	switch {
	case f.Facts == nil && f.VaryMiss:
		return Verdict{Action: Forward, Fwd: FwdVaryMiss}
	case f.Facts == nil:
		return Verdict{Action: Forward, Fwd: FwdURIMiss}
	}
	switch f.Mode {
	case ModeReload:
		return Verdict{Action: Forward, Fwd: FwdRequest, Reason: ReasonReloadMode}
	case ModeForceCache, ModeOnlyIfCached:
		if f.Ranges != httpsyntax.RangeForward { // however stale, without validation
			return Verdict{Action: Serve}
		}
	}
	if Servable(f.Facts, f.ReqCC, f.Age, f.Shared) {
		if f.Ranges == httpsyntax.RangeForward {
			return Verdict{Action: Forward, Fwd: FwdRequest, Reason: ReasonMultipleRanges}
		}
		return Verdict{Action: Serve}
	}
	if f.Ranges != httpsyntax.RangeForward && StaleWhileRevalidateAllowed(f.Facts, f.ReqCC, f.Age, f.Shared) {
		return Verdict{Action: ServeStale, Reason: ReasonStaleWhileRevalidate}
	}
	fwd := FwdRequest // the request's directives ask for the origin
	if f.Facts.Lifetime <= f.Age || f.Facts.CC.NoCache {
		fwd = FwdStale
	}
	if f.Facts.Validator && (!f.Conditionals || f.UnionETag) && f.Resendable {
		return Verdict{Action: Revalidate, Fwd: fwd}
	}
	return Verdict{Action: Forward, Fwd: fwd}
}
