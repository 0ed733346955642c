package policy

import (
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds freshness: the lifetime of a response (RFC 9111 Section
// 4.2.1), explicit or heuristic (Section 4.2.2).

// maxHeuristicFreshness bounds the freshness lifetime a heuristic may assign.
// RFC 7234 required a warning past 24 hours; we never go past it.
const maxHeuristicFreshness = 24 * time.Hour

// ResponseDirectives returns the directives that govern a response: those of
// the first of the targeted fields it carries, per [RFC 9213 Section 2.2],
// else those of Cache-Control.
//
// [RFC 9213 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9213#section-2.2
func ResponseDirectives(h http.Header, targets []string) httpsyntax.CacheControl {
	if cc, ok := httpsyntax.TargetedDirectives(h, targets); ok {
		return cc
	}
	return httpsyntax.ParseResponseCacheControl(h)
}

// DateValue returns the response's Date, or the time it was received when the
// Date field is missing or invalid, per [RFC 9110 Section 6.6.1].
//
// [RFC 9110 Section 6.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
func DateValue(h http.Header, responseTime time.Time) time.Time {
	if t, _, ok := httpsyntax.HeaderDate(h, "Date", responseTime); ok {
		return t
	}
	return responseTime
}

// EnsureDate adds a Date field holding the time the response was received to
// a stored header that has none, as [RFC 9110 Section 6.6.1] requires of a
// recipient that caches a response without one.
//
// [RFC 9110 Section 6.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
func EnsureDate(h http.Header, responseTime time.Time) {
	if len(h["Date"]) == 0 {
		h["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
}

// Source names where a freshness lifetime comes from, in the order of
// precedence of RFC 9111 Section 4.2.1.
type Source string

// The sources of a freshness lifetime; a heuristic of zero has none.
const (
	SourceNone      Source = ""
	SourceSMaxAge   Source = "s-maxage" // in a shared cache only
	SourceMaxAge    Source = "max-age"
	SourceExpires   Source = "Expires" // minus Date
	SourceHeuristic Source = "heuristic"
)

// Explicit reports a lifetime the response gave, rather than a heuristic.
func (s Source) Explicit() bool {
	return s == SourceSMaxAge || s == SourceMaxAge || s == SourceExpires
}

// FreshnessLifetime returns how long a response stays fresh, per
// [RFC 9111 Section 4.2.1], and where the lifetime comes from: s-maxage
// (shared caches only), then max-age, then Expires minus Date, then a
// heuristic (Section 4.2.2). This is the one place the precedence is
// written.
//
// An invalid max-age or Expires means the response is already stale.
//
// [RFC 9111 Section 4.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
func FreshnessLifetime(status int, h http.Header, cc httpsyntax.CacheControl, dateValue time.Time, shared bool) (time.Duration, Source) {
	switch {
	case shared && cc.SMaxAge.Set:
		return Seconds(int64(cc.SMaxAge.Seconds)), SourceSMaxAge
	case cc.MaxAge.Set:
		return Seconds(int64(cc.MaxAge.Seconds)), SourceMaxAge
	}
	// RFC 9213 Section 2.2: a cache that obeys a targeted field ignores
	// Expires, as it does Cache-Control.
	if expires, present, ok := httpsyntax.HeaderDate(h, "Expires", dateValue); present && !cc.Targeted {
		if !ok || !expires.After(dateValue) {
			return 0, SourceExpires
		}
		return min(expires.Sub(dateValue), MaxAge), SourceExpires
	}
	if h := heuristicFreshness(status, h, cc, dateValue, shared); h > 0 {
		return h, SourceHeuristic
	}
	return 0, SourceNone
}

// heuristicFreshness returns the lifetime a cache may assign to a response
// without explicit freshness, per [RFC 9111 Section 4.2.2]: a tenth of the time
// since Last-Modified, at most maxHeuristicFreshness, and only for responses
// whose status is heuristically cacheable or that are marked cacheable.
//
// [RFC 9111 Section 4.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.2
func heuristicFreshness(status int, h http.Header, cc httpsyntax.CacheControl, dateValue time.Time, shared bool) time.Duration {
	if !HeuristicallyCacheable(status) && !cc.Public && !(cc.Private && !shared) {
		return 0
	}
	lastModified, _, ok := httpsyntax.HeaderDate(h, "Last-Modified", dateValue)
	if !ok || lastModified.After(dateValue) {
		return 0
	}
	return min(dateValue.Sub(lastModified)/10, maxHeuristicFreshness)
}

// HeuristicallyCacheable reports whether responses with this status code may
// be stored and given heuristic freshness, per [RFC 9110 Section 15.1].
//
// [RFC 9110 Section 15.1]: https://www.rfc-editor.org/rfc/rfc9110#section-15.1
func HeuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}
