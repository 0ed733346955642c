package policy

import (
	"net/http"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds validation (RFC 9111 Section 4.3, RFC 9110 Section 13):
// the validators a cache sends, and what a 304 or a caller's own validators
// select.

// NotModifiedReceived reports whether a cache holding a stored response with
// header stored, received at responseTime, may answer a request with method
// and header reqHeader with 304 (Not Modified), evaluating the request's
// conditionals against the stored response as [RFC 9111 Section 4.3.2] asks,
// with the precedence of [RFC 9110 Section 13.2.2]. now is the current time.
//
// Only GET and HEAD are answered: for other methods a false condition means
// 412 (Precondition Failed), which is the origin's to send. A request with
// If-Match, If-Unmodified-Since or If-Range ([scanRequestFields]) is never
// answered either; the cache forwards those. Otherwise:
//
//   - If the request has an If-None-Match field ([RFC 9110 Section 13.1.2]),
//     it alone decides and If-Modified-Since is ignored, even when no member
//     of the list is valid. It is not modified if the field is "*" (a stored
//     response exists) or if a listed entity-tag matches the stored ETag
//     under the weak comparison ([RFC 9110 Section 8.8.3.2]). A stored
//     response without a valid ETag matches only "*". An entity-tag without
//     its quotes, on either side, is read as the quoted one ([parseETag]), so
//     `If-None-Match: 124567` matches `ETag: "124567"` and the other way
//     round.
//   - Otherwise, if the request has an If-Modified-Since field
//     ([RFC 9110 Section 13.1.3]), it is ignored (false) unless it is a single
//     field line holding a valid HTTP-date no later than now. A date in the
//     future is invalid, as [RFC 2616 Section 14.25] stated; RFC 9110 dropped
//     the sentence, but such a date can only come from a skewed clock. The
//     response is not modified if its last modification is no later than
//     that date. That is the stored Last-Modified; when Last-Modified is
//     absent, the stored Date, or when Date is absent or invalid the time
//     the response was received (responseTime), as [RFC 9111 Section 4.3.2]
//     says a cache SHOULD. A zero responseTime is unknown, and without a
//     valid Date the answer is then false. A Last-Modified that is present
//     but invalid is no modification date at all, and the answer is false
//     rather than a guess from Date.
//
// With neither field the answer is false. False is always safe: the cache
// then serves or fetches the full response.
//
// [RFC 2616 Section 14.25]: https://www.rfc-editor.org/rfc/rfc2616#section-14.25
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
// [RFC 9110 Section 13.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
// [RFC 9110 Section 13.1.3]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.3
// [RFC 9110 Section 13.2.2]: https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2
// [RFC 9111 Section 4.3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2
func NotModifiedReceived(method string, reqHeader, stored http.Header, responseTime, now time.Time) bool {
	if method != http.MethodGet && method != http.MethodHead || preconditions(reqHeader) {
		return false
	}
	if inm := reqHeader.Values("If-None-Match"); len(inm) > 0 {
		tags, star := httpsyntax.ParseETagList(inm)
		if star {
			return true
		}
		current, _, ok := httpsyntax.HeaderETag(stored)
		if !ok {
			return false
		}
		for _, t := range tags {
			if httpsyntax.WeakMatch(t, current) {
				return true
			}
		}
		return false
	}
	return notModifiedSince(reqHeader, stored, responseTime, now)
}

// notModifiedSince evaluates the If-Modified-Since field of reqHeader against
// the stored response, received at responseTime (zero if unknown), as
// described for [notModifiedReceived], per [RFC 9110 Section 13.1.3] and
// [RFC 9111 Section 4.3.2].
//
// [RFC 9110 Section 13.1.3]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.3
// [RFC 9111 Section 4.3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2
func notModifiedSince(reqHeader, stored http.Header, responseTime, now time.Time) bool {
	// More than one member (even repeated identical lines) means ignore it.
	if len(reqHeader.Values("If-Modified-Since")) != 1 {
		return false
	}
	since, _, ok := httpsyntax.HeaderDate(reqHeader, "If-Modified-Since", now)
	if !ok || since.After(now) {
		return false
	}
	modified, present, ok := httpsyntax.HeaderDate(stored, "Last-Modified", now)
	if !present {
		modified, _, ok = httpsyntax.HeaderDate(stored, "Date", now)
		if !ok && !responseTime.IsZero() {
			// To the second, as the Date the cache would have added.
			modified, ok = responseTime.Truncate(time.Second), true
		}
	}
	return ok && !modified.After(since)
}

// ValidatorsFor returns the conditional header fields a cache sends to
// validate a stored response with header stored ([RFC 9111 Section 4.3.1]):
// both validators when both exist, as [RFC 9110 Section 8.8.4] advises.
//
//   - If-None-Match is the stored ETag, if it is a valid entity-tag
//     ([headerETag]), exactly as received ([etagAsReceived]), an entity-tag
//     the origin sent without quotes included: `ETag: 124567` goes back as
//     `If-None-Match: 124567`. [RFC 9110 Section 8.8.3] requires the quotes,
//     but the origins that leave them out compare the field with what they
//     sent byte for byte, and answer `"124567"` with the whole body again.
//   - If-Modified-Since is the stored Last-Modified field value, if it is a
//     single valid HTTP-date ([headerDate]). An IMF-fixdate is sent exactly
//     as received, even in another case ("gmt"), since some servers compare
//     the strings with their own; a date in one of the obsolete forms is
//     rewritten as an IMF-fixdate, because a sender MUST generate that form
//     ([RFC 9110 Section 5.6.7]).
//
// Surrounding SP and HTAB are not part of a field value and are dropped. The
// result is never nil; it is empty when the stored response cannot be
// validated.
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
// [RFC 9110 Section 8.8.4]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.4
// [RFC 9111 Section 4.3.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.1
func ValidatorsFor(stored http.Header, now time.Time) http.Header {
	v := make(http.Header, 2)
	if tag, ok := httpsyntax.ETagAsReceived(stored); ok {
		v["If-None-Match"] = []string{tag}
	}
	// now only chooses the century of an RFC 850 two-digit year.
	if t, _, ok := httpsyntax.HeaderDate(stored, "Last-Modified", now); ok {
		s := strings.Trim(stored.Get("Last-Modified"), " \t")
		if len(s) != httpsyntax.IMFFixdateLen || s[3] != ',' {
			s = t.Format(http.TimeFormat)
		}
		v["If-Modified-Since"] = []string{s}
	}
	return v
}

// Matches304 reports whether a 304 (Not Modified) response with header
// resp304 applies to a stored response with header stored, by the selection
// rules of [RFC 9111 Section 4.3.4]. now is the current time, which only
// parsing an RFC 850 date needs.
//
//   - If the 304 has a strong validator, an ETag that is not weak, the stored
//     response is selected only if its ETag matches under the strong
//     comparison ([RFC 9110 Section 8.8.3.2]). Last-Modified is not consulted.
//   - Otherwise, if it has weak validators, a weak ETag or a Last-Modified
//     (always treated as weak here, though [RFC 9110 Section 8.8.2.2] lets it
//     be strong), each of them must correspond to the stored response: the
//     ETags match under the weak comparison, and the Last-Modified dates are
//     the same instant.
//   - Otherwise the 304 has no validator, and the stored response is selected
//     only if it has neither an ETag nor a Last-Modified field either.
//
// A 304 whose ETag or Last-Modified is present but invalid applies to nothing
// (false): nothing then ties it to the stored response.
//
// [RFC 9110 Section 8.8.2.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.2.2
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
// [RFC 9111 Section 4.3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
func Matches304(resp304, stored http.Header, now time.Time) bool {
	tag, hasTag, ok := httpsyntax.HeaderETag(resp304)
	if hasTag && !ok {
		return false
	}
	if hasTag && !tag.Weak {
		current, _, ok := httpsyntax.HeaderETag(stored)
		return ok && httpsyntax.StrongMatch(tag, current)
	}
	modified, hasModified, ok := httpsyntax.HeaderDate(resp304, "Last-Modified", now)
	if hasModified && !ok {
		return false
	}
	if !hasTag && !hasModified {
		return len(stored.Values("Etag")) == 0 && len(stored.Values("Last-Modified")) == 0
	}
	if hasTag {
		current, _, ok := httpsyntax.HeaderETag(stored)
		if !ok || !httpsyntax.WeakMatch(tag, current) {
			return false
		}
	}
	if hasModified {
		current, _, ok := httpsyntax.HeaderDate(stored, "Last-Modified", now)
		if !ok || !current.Equal(modified) {
			return false
		}
	}
	return true
}

// IfRangeMatches evaluates the If-Range field of a request against a
// stored response with header stored, per [RFC 9110 Section 13.1.5]: true
// when it is an entity-tag that strongly matches the stored ETag, or an
// HTTP-date that exactly matches the stored Last-Modified when that date is
// a strong validator ([RFC 9110 Section 8.8.2.2]: the stored Date is at
// least one second after it). Anything else, several differing lines or an
// invalid value included, does not match: the Range is then ignored.
//
// [RFC 9110 Section 8.8.2.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.2.2
// [RFC 9110 Section 13.1.5]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5
func IfRangeMatches(req, stored http.Header, now time.Time) bool {
	v, _, ok := httpsyntax.SingleFieldValue(req, "If-Range")
	if !ok {
		return false
	}
	if v = httpsyntax.TrimOWS(v); strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		tag, ok := httpsyntax.ParseETag(v)
		current, strong := httpsyntax.StrongETag(stored)
		return ok && strong && httpsyntax.StrongMatch(tag, current)
	}
	date, ok := httpsyntax.ParseHTTPDate(v, now)
	if !ok {
		return false
	}
	lastModified, _, ok := httpsyntax.HeaderDate(stored, "Last-Modified", now)
	return ok && date.Equal(lastModified) && StrongLastModified(stored, now)
}

// StrongLastModified reports a Last-Modified that is a strong validator
// per [RFC 9110 Section 8.8.2.2]: the response's Date is at least one
// second after it.
//
// [RFC 9110 Section 8.8.2.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.2.2
func StrongLastModified(h http.Header, now time.Time) bool {
	lastModified, _, ok := httpsyntax.HeaderDate(h, "Last-Modified", now)
	if !ok {
		return false
	}
	date, _, ok := httpsyntax.HeaderDate(h, "Date", now)
	return ok && date.Sub(lastModified) >= time.Second
}

// StrongValidator reports a stored response that If-Range can be evaluated
// against: a strong entity-tag or a strong Last-Modified.
func StrongValidator(h http.Header, now time.Time) bool {
	_, strong := httpsyntax.StrongETag(h)
	return strong || StrongLastModified(h, now)
}

// preconditions reports an If-Match, If-Unmodified-Since or If-Range field
// in h, a header with canonical names: the cache never answers such a
// request with its own 304 (RFC 9110 Section 13.2.2).
func preconditions(h http.Header) bool {
	return len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0 || len(h["If-Range"]) > 0
}
