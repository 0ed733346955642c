package httpsyntax

import (
	"iter"
	"net/http"
	"strings"
)

// This file holds entity-tags (RFC 9110 Section 8.8.3) and how two compare
// (Section 8.8.3.2).

// ETag is a parsed entity-tag of [RFC 9110 Section 8.8.3]: the weak
// flag ("W/" prefix) and the opaque-tag, which keeps its double quotes, e.g.
// `"xyzzy"`, or gains them when the sender left them out ([parseETag]). Two
// entity-tags are compared with [strongMatch] or [weakMatch].
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
type ETag struct {
	Weak   bool
	Opaque string // including the quotes, e.g. `"xyzzy"`
}

// ParseETag parses a single entity-tag, the value of an ETag response field,
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
func ParseETag(s string) (ETag, bool) {
	s = strings.Trim(s, " \t")
	var t ETag
	if strings.HasPrefix(s, "W/") {
		t.Weak = true
		s = s[len("W/"):]
	}
	if isUnquotedETag(s) {
		t.Opaque = `"` + s + `"`
		return t, true
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return ETag{}, false
	}
	for i := 1; i < len(s)-1; i++ {
		if !isETagChar(s[i]) {
			return ETag{}, false
		}
	}
	t.Opaque = s
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
func (t ETag) String() string {
	if t.Weak {
		return "W/" + t.Opaque
	}
	return t.Opaque
}

// ParseETagList parses the field lines values of an If-None-Match or
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
func ParseETagList(values []string) (tags []ETag, any bool) {
	star, other := false, false
	for member := range ETagListMembers(values) {
		if member == "*" {
			star = true
			continue
		}
		other = true
		if t, ok := ParseETag(member); ok {
			tags = append(tags, t)
		}
	}
	if star && !other {
		return nil, true
	}
	return tags, false
}

// ETagListMembers yields the members of the field lines values of an
// entity-tag list, as [parseETagList] finds them, each without its OWS and
// exactly as written otherwise: `"a,b"`, `W/x`, `a b`, `*`. Empty members
// are skipped.
func ETagListMembers(values []string) iter.Seq[string] {
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

// StrongMatch reports whether a and b match under the strong comparison of
// [RFC 9110 Section 8.8.3.2]: neither is weak and their opaque-tags are
// identical.
//
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
func StrongMatch(a, b ETag) bool {
	return !a.Weak && !b.Weak && a.Opaque == b.Opaque
}

// WeakMatch reports whether a and b match under the weak comparison of
// [RFC 9110 Section 8.8.3.2]: their opaque-tags are identical, whether or not
// either is weak.
//
// [RFC 9110 Section 8.8.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2
func WeakMatch(a, b ETag) bool {
	return a.Opaque == b.Opaque
}

// HeaderETag returns the entity-tag in the ETag field of h
// ([RFC 9110 Section 8.8.3]), the counterpart of [headerDate].
//
// present reports whether the field has at least one field line. ok is false
// if the field is absent, has field lines with differing values (identical
// repeated lines are fine; ETag is a singleton field), or does not parse.
//
// [RFC 9110 Section 8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
func HeaderETag(h http.Header) (t ETag, present, ok bool) {
	v, present, single := SingleFieldValue(h, "Etag")
	if !single {
		return ETag{}, present, false
	}
	t, ok = ParseETag(v)
	return t, true, ok
}

// ETagAsReceived returns the ETag field value of h without its OWS, when
// [headerETag] finds a valid entity-tag there: the bytes the origin sent,
// which is what a validating request carries back in If-None-Match
// ([RFC 9110 Section 13.1.2]). That is the tag's own form when it has its
// quotes; without them it is `124567` or `W/abc`, never `"124567"`, since an
// origin that sends its tags unquoted compares If-None-Match with them byte
// for byte ([parseETag]).
//
// [RFC 9110 Section 13.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
func ETagAsReceived(h http.Header) (string, bool) {
	v, _, single := SingleFieldValue(h, "Etag")
	if !single {
		return "", false
	}
	if _, ok := ParseETag(v); !ok {
		return "", false
	}
	return TrimOWS(v), true
}

// StrongETag returns the entity-tag of h when it is a single strong one
// ([RFC 9110 Section 8.8.1]): the validator that makes two parts of a
// representation combinable ([RFC 9111 Section 3.4]).
//
// [RFC 9110 Section 8.8.1]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.1
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
func StrongETag(h http.Header) (ETag, bool) {
	t, _, ok := HeaderETag(h)
	return t, ok && !t.Weak
}
