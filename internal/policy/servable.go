package policy

import (
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds what a cache may serve without the origin (RFC 9111
// Section 4.2), stale included (Section 4.2.4, RFC 5861).

// Servable reports whether a stored response may be served to a request with
// the directives reqCC at its current age without contacting the origin, per
// [RFC 9111 Section 4.2] and the request directives of Section 5.2.1.
//
// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
func Servable(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared bool) bool {
	if m.CC.NoCache || reqCC.NoCache {
		return false // Sections 5.2.2.4 and 5.2.1.4: validation required
	}
	// An immutable response is not revalidated while fresh (RFC 8246
	// Section 2): a request max-age, such as a browser's reload, does not
	// cut its freshness short.
	immutableFresh := m.CC.Immutable && m.Lifetime > age
	if reqCC.MaxAge.Set && age > Seconds(int64(reqCC.MaxAge.Seconds)) && !immutableFresh {
		return false // Section 5.2.1.1
	}
	if reqCC.MinFresh.Set && m.Lifetime-age < Seconds(int64(reqCC.MinFresh.Seconds)) {
		return false // Section 5.2.1.3
	}
	if m.Lifetime > age {
		return true
	}
	// Stale: only a request's max-stale allows it (Section 4.2.4), and never
	// past must-revalidate (Section 5.2.2.2) or, in a shared cache,
	// proxy-revalidate and s-maxage (Sections 5.2.2.8 and 5.2.2.10).
	if m.CC.MustRevalidate || (shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set)) {
		return false
	}
	switch {
	case reqCC.MaxStale.Set:
		return age-m.Lifetime <= Seconds(int64(reqCC.MaxStale.Seconds))
	case reqCC.MaxStaleAny:
		return true
	}
	return false
}

// StaleWhileRevalidateAllowed reports whether a stale stored response may be
// served at once while it is revalidated in the background: within its
// stale-while-revalidate window ([RFC 5861 Section 3]), and not where a
// directive forbids stale responses (RFC 9111 Section 4.2.4): must-revalidate
// or no-cache, in a shared cache proxy-revalidate or s-maxage, or a request
// that asks for a fresh response (no-cache, max-age, min-fresh).
//
// [RFC 5861 Section 3]: https://www.rfc-editor.org/rfc/rfc5861#section-3
func StaleWhileRevalidateAllowed(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared bool) bool {
	switch {
	case !m.CC.StaleWhileRevalidate.Set, m.CC.MustRevalidate, m.CC.NoCache,
		shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set),
		reqCC.NoCache, reqCC.MaxAge.Set, reqCC.MinFresh.Set:
		return false
	}
	staleness := age - m.Lifetime
	return staleness >= 0 && staleness <= Seconds(int64(m.CC.StaleWhileRevalidate.Seconds))
}

// StaleUsable reports whether a response stale by staleness may still be
// served stale by this cache: within its stale-while-revalidate or
// stale-if-error window ([RFC 5861] Sections 3 and 4), where no directive
// forbids serving it stale (RFC 9111 Section 4.2.4: must-revalidate,
// no-cache, and in a shared cache proxy-revalidate and s-maxage). A
// response that arrives stale and has no validator is worth storing only
// then.
//
// [RFC 5861]: https://www.rfc-editor.org/rfc/rfc5861
func StaleUsable(m *Facts, staleness time.Duration, shared bool) bool {
	if m.CC.MustRevalidate || m.CC.NoCache || shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set) {
		return false
	}
	return m.CC.StaleWhileRevalidate.Set && staleness <= Seconds(int64(m.CC.StaleWhileRevalidate.Seconds)) ||
		m.CC.StaleIfError.Set && staleness <= Seconds(int64(m.CC.StaleIfError.Seconds))
}

// StaleOnErrorAllowed reports whether a stale stored response may be served
// instead of an origin that failed (a 500, 502, 503 or 504, or no answer):
// within the stale-if-error window of the response or of the request
// ([RFC 5861 Section 4]), or however stale when the cache serves stale
// responses while disconnected (anyStale, RFC 9111 Section 4.2.4). Never past
// must-revalidate or no-cache, nor in a shared cache past proxy-revalidate or
// s-maxage, which implies it (Sections 5.2.2.2, 5.2.2.4, 5.2.2.8 and
// 5.2.2.10); nor against the request's no-cache, or its max-age or max-stale
// that the response's age passes (Section 5.2.1): Section 4.2.4 forbids
// stale responses that a directive prohibits, and a stale-if-error of the
// response or of the request does not lift that.
//
// [RFC 5861 Section 4]: https://www.rfc-editor.org/rfc/rfc5861#section-4
func StaleOnErrorAllowed(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared, anyStale bool) bool {
	if m.CC.MustRevalidate || m.CC.NoCache || reqCC.NoCache ||
		shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set) {
		return false
	}
	staleness := max(0, age-m.Lifetime)
	if reqCC.MaxStale.Set && staleness > Seconds(int64(reqCC.MaxStale.Seconds)) ||
		reqCC.MaxAge.Set && age > Seconds(int64(reqCC.MaxAge.Seconds)) {
		return false
	}
	switch {
	case m.CC.StaleIfError.Set && staleness <= Seconds(int64(m.CC.StaleIfError.Seconds)):
		return true
	case reqCC.StaleIfError.Set && staleness <= Seconds(int64(reqCC.StaleIfError.Seconds)):
		return true
	}
	return anyStale
}

// OriginFailed reports an origin answer that stale-if-error may hide
// ([RFC 5861 Section 4]): no answer, or 500, 502, 503 or 504.
//
// [RFC 5861 Section 4]: https://www.rfc-editor.org/rfc/rfc5861#section-4
func OriginFailed(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
