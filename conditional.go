package acache

import (
	"iter"
	"net/http"
	"slices"
	"strings"
	"time"
)

// entityTag is a parsed entity-tag of [RFC 9110 Section 8.8.3]: the weak
// flag ("W/" prefix) and the opaque-tag, which keeps its double quotes, e.g.
// `"xyzzy"`, or gains them when the sender left them out ([parseETag]). Two
// entity-tags are compared with [strongMatch] or [weakMatch].
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
type entityTag struct {
	weak   bool
	opaque string // including the quotes, e.g. `"xyzzy"`
}

// parseETag parses a single entity-tag, the value of an ETag response field,
// per the grammar of [RFC 9110 Section 8.8.3]:
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// Leading and trailing SP and HTAB are ignored, since a field value excludes
// them ([RFC 9110 Section 5.5]); anything else must match exactly. "W/" is
// case-sensitive, so `w/"x"` is invalid, and there is no escaping inside the
// quotes: a backslash is an ordinary etagc and a second DQUOTE ends the tag.
//
// One departure from the grammar: many origins leave out the quotes
// (`ETag: 124567`), and such a response could never be revalidated. An
// unquoted tag ([isUnquotedETag]), after an optional "W/", is read as the
// opaque-tag it lacks the quotes of: `124567` is `"124567"` and `W/124567` is
// `W/"124567"`. It is compared in its quoted form, so either spelling matches
// the other. It is not sent in that form: such an origin compares
// If-None-Match with the bytes it sent, so the cache sends its stored tag
// back as received ([etagAsReceived]) and a caller's If-None-Match as the
// caller wrote it ([unionConditionalRequest]).
//
// ok is false for anything that is not exactly one entity-tag.
//
// [RFC 9110 Section 5.5]: https://www.rfc-editor.org/rfc/rfc9110#section-5.5
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func parseETag(s string) (entityTag, bool) {
	s = strings.Trim(s, " \t")
	var t entityTag
	if strings.HasPrefix(s, "W/") {
		t.weak = true
		s = s[len("W/"):]
	}
	if isUnquotedETag(s) {
		t.opaque = `"` + s + `"`
		return t, true
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return entityTag{}, false
	}
	for i := 1; i < len(s)-1; i++ {
		if !isETagChar(s[i]) {
			return entityTag{}, false
		}
	}
	t.opaque = s
	return t, true
}

// isUnquotedETag reports whether s is the inside of an opaque-tag sent
// without its quotes, as parseETag accepts it: one or more etagc of
// [RFC 9110 Section 8.8.3] (%x21 / %x23-7E / obs-text) other than a comma,
// which would split a list, and not "*" alone, which If-None-Match gives its
// own meaning. An etagc is never DQUOTE, SP, HTAB, DEL or another control
// character, so `"a`, `a"`, `a b` and the empty string are not unquoted tags.
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func isUnquotedETag(s string) bool {
	if s == "" || s == "*" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isETagChar(c) || c == ',' {
			return false
		}
	}
	return true
}

// isETagChar reports whether c is an etagc of [RFC 9110 Section 8.8.3]: a
// VCHAR other than DQUOTE, or obs-text.
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func isETagChar(c byte) bool {
	return c == 0x21 || c >= 0x23 && c != 0x7f
}

// String returns t as a field value of [RFC 9110 Section 8.8.3], with the
// quotes of its opaque-tag: `"xyzzy"` or `W/"xyzzy"`, even when it was
// received without them. If-None-Match carries a stored tag as received
// instead ([etagAsReceived]).
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func (t entityTag) String() string {
	if t.weak {
		return "W/" + t.opaque
	}
	return t.opaque
}

// parseETagList parses the field lines values of an If-None-Match or
// If-Match field ([RFC 9110 Section 13.1.2], [RFC 9110 Section 13.1.1]):
//
//	If-None-Match = "*" / #entity-tag
//
// It returns any=true (and no tags) when the field is "*", and otherwise the
// entity-tags of the list in order.
//
// Members are separated by commas outside the quotes of an opaque-tag, so
// `"a,b"` is one tag ([RFC 9110 Section 5.6.1]); empty members and OWS are
// skipped. A member that is not a valid entity-tag is skipped and the others
// are kept. A "*" counts only when every member of every line is "*"; mixed
// with anything else (which the grammar does not allow) it is skipped like
// any other invalid member.
//
// Each field line is parsed on its own: a sender splits a list only between
// members ([RFC 9110 Section 5.3]), so a malformed line, say one with an
// unbalanced quote that swallows the rest of its line, cannot take a
// following line with it.
//
// [RFC 9110 Section 5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
// [RFC 9110 Section 5.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1
// [RFC 9110 Section 13.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1
// [RFC 9110 Section 13.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
func parseETagList(values []string) (tags []entityTag, any bool) {
	star, other := false, false
	for member := range etagListMembers(values) {
		if member == "*" {
			star = true
			continue
		}
		other = true
		if t, ok := parseETag(member); ok {
			tags = append(tags, t)
		}
	}
	if star && !other {
		return nil, true
	}
	return tags, false
}

// etagListMembers yields the members of the field lines values of an
// entity-tag list, as [parseETagList] finds them, each without its OWS and
// exactly as written otherwise: `"a,b"`, `W/x`, `a b`, `*`. Empty members
// are skipped.
func etagListMembers(values []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range values {
			for i := 0; i < len(line); {
				if c := line[i]; c == ' ' || c == '\t' || c == ',' {
					i++
					continue
				}
				end := etagListMemberEnd(line, i)
				if !yield(strings.TrimRight(line[i:end], " \t")) {
					return
				}
				i = end
			}
		}
	}
}

// etagListMemberEnd returns the index of the comma that ends the list member
// starting at s[i], or len(s). A comma between double quotes is part of an
// opaque-tag ([RFC 9110 Section 8.8.3]), which has no escapes, so every
// DQUOTE opens or closes a quoted run.
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func etagListMemberEnd(s string, i int) int {
	quoted := false
	for ; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return i
			}
		}
	}
	return len(s)
}

// strongMatch reports whether a and b match under the strong comparison of
// [RFC 9110 Section 8.8.3.2]: neither is weak and their opaque-tags are
// identical.
//
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
func strongMatch(a, b entityTag) bool {
	return !a.weak && !b.weak && a.opaque == b.opaque
}

// unionConditionalRequest returns a copy of req, whose own If-None-Match
// the cache revalidates a stale stored response with (header stored): the
// caller's field lines as they are, then the stored response's entity-tag as
// the origin sent it ([etagAsReceived]), per [RFC 9111 Section 4.3.2]. Each
// tag keeps its own form, quoted or not, because an origin compares
// If-None-Match with the tags it sent byte for byte: `"x"` from the caller
// and `124567` from the cache go out as `"x", 124567`. The stored tag is not
// added when the caller's list is "*", which already asks about every
// representation, or holds that tag in the same form already. The caller's
// other validators stay as they are. A 304 for the stored tag freshens the
// stored response, which then answers the caller; one for the caller's own
// tag is the caller's answer. req itself is not modified.
//
// [RFC 9111 Section 4.3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2
func unionConditionalRequest(req *http.Request, stored http.Header) *http.Request {
	out := req.Clone(req.Context())
	own, ok := etagAsReceived(stored)
	inm := out.Header.Values("If-None-Match")
	if _, any := parseETagList(inm); !ok || any {
		return out
	}
	for member := range etagListMembers(inm) {
		if member == own {
			return out
		}
	}
	out.Header["If-None-Match"] = append(slices.Clip(inm), own)
	return out
}

// weakMatch reports whether a and b match under the weak comparison of
// [RFC 9110 Section 8.8.3.2]: their opaque-tags are identical, whether or not
// either is weak.
//
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
func weakMatch(a, b entityTag) bool {
	return a.opaque == b.opaque
}

// headerETag returns the entity-tag in the ETag field of h
// ([RFC 9110 Section 8.8.3]), the counterpart of [headerDate].
//
// present reports whether the field has at least one field line. ok is false
// if the field is absent, has field lines with differing values (identical
// repeated lines are fine; ETag is a singleton field), or does not parse.
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func headerETag(h http.Header) (t entityTag, present, ok bool) {
	v, present, single := singleFieldValue(h, "Etag")
	if !single {
		return entityTag{}, present, false
	}
	t, ok = parseETag(v)
	return t, true, ok
}

// etagAsReceived returns the ETag field value of h without its OWS, when
// [headerETag] finds a valid entity-tag there: the bytes the origin sent,
// which is what a validating request carries back in If-None-Match
// ([RFC 9110 Section 13.1.2]). That is the tag's own form when it has its
// quotes; without them it is `124567` or `W/abc`, never `"124567"`, since an
// origin that sends its tags unquoted compares If-None-Match with them byte
// for byte ([parseETag]).
//
// [RFC 9110 Section 13.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
func etagAsReceived(h http.Header) (string, bool) {
	v, _, single := singleFieldValue(h, "Etag")
	if !single {
		return "", false
	}
	if _, ok := parseETag(v); !ok {
		return "", false
	}
	return trimOWS(v), true
}

// notModifiedReceived reports whether a cache holding a stored response with
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
func notModifiedReceived(method string, reqHeader, stored http.Header, responseTime, now time.Time) bool {
	if method != http.MethodGet && method != http.MethodHead || scanRequestFields(reqHeader).preconditions {
		return false
	}
	if inm := reqHeader.Values("If-None-Match"); len(inm) > 0 {
		tags, star := parseETagList(inm)
		if star {
			return true
		}
		current, _, ok := headerETag(stored)
		if !ok {
			return false
		}
		for _, t := range tags {
			if weakMatch(t, current) {
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
	since, _, ok := headerDate(reqHeader, "If-Modified-Since", now)
	if !ok || since.After(now) {
		return false
	}
	modified, present, ok := headerDate(stored, "Last-Modified", now)
	if !present {
		modified, _, ok = headerDate(stored, "Date", now)
		if !ok && !responseTime.IsZero() {
			// To the second, as the Date the cache would have added.
			modified, ok = responseTime.Truncate(time.Second), true
		}
	}
	return ok && !modified.After(since)
}

// validatorsFor returns the conditional header fields a cache sends to
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
func validatorsFor(stored http.Header, now time.Time) http.Header {
	v := make(http.Header, 2)
	if tag, ok := etagAsReceived(stored); ok {
		v["If-None-Match"] = []string{tag}
	}
	// now only chooses the century of an RFC 850 two-digit year.
	if t, _, ok := headerDate(stored, "Last-Modified", now); ok {
		s := strings.Trim(stored.Get("Last-Modified"), " \t")
		if len(s) != imfFixdateLen || s[3] != ',' {
			s = t.Format(http.TimeFormat)
		}
		v["If-Modified-Since"] = []string{s}
	}
	return v
}

// matches304 reports whether a 304 (Not Modified) response with header
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
func matches304(resp304, stored http.Header, now time.Time) bool {
	tag, hasTag, ok := headerETag(resp304)
	if hasTag && !ok {
		return false
	}
	if hasTag && !tag.weak {
		current, _, ok := headerETag(stored)
		return ok && strongMatch(tag, current)
	}
	modified, hasModified, ok := headerDate(resp304, "Last-Modified", now)
	if hasModified && !ok {
		return false
	}
	if !hasTag && !hasModified {
		return len(stored.Values("Etag")) == 0 && len(stored.Values("Last-Modified")) == 0
	}
	if hasTag {
		current, _, ok := headerETag(stored)
		if !ok || !weakMatch(tag, current) {
			return false
		}
	}
	if hasModified {
		current, _, ok := headerDate(stored, "Last-Modified", now)
		if !ok || !current.Equal(modified) {
			return false
		}
	}
	return true
}
