package httpsyntax

import (
	"maps"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// This file holds the syntax of HTTP fields (RFC 9110 Section 5) that the
// cache checks before it trusts a request or a stored entry.

// tokenChars and hostChars are lookup tables, for speed on the hit path, of
// the bytes of a token ([RFC 9110 Section 5.6.2]: tchar) and of a host and
// port (the bytes of [RFC 3986 Section 3.2.2] reg-name, IP literals and
// pct-encoding, with ":" for the port).
//
// [RFC 9110 Section 5.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
// [RFC 3986 Section 3.2.2]: https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2
var tokenChars, hostChars [256]bool

func init() {
	for c := range 256 {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		tokenChars[c] = alnum || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
		hostChars[c] = alnum || strings.IndexByte("-._~!$&'()*+,;=:[]%", byte(c)) >= 0
	}
}

// ValidToken reports a non-empty token ([RFC 9110 Section 5.6.2]): the syntax
// of field names and methods.
//
// [RFC 9110 Section 5.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}

// ValidFieldValue reports a field value net/http would send
// ([RFC 9110 Section 5.5]): no control characters but horizontal tab, so no
// CR, LF or NUL that could split or end a header.
//
// [RFC 9110 Section 5.5]: https://www.rfc-editor.org/rfc/rfc9110#section-5.5
func ValidFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// ValidHeader reports whether every name in h is a token and every value a
// valid field value.
func ValidHeader(h http.Header) bool {
	for name, values := range h {
		if !ValidToken(name) {
			return false
		}
		for _, v := range values {
			if !ValidFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// ValidHost reports a Host value net/http would send as it is: the bytes of
// a uri-host and port ([RFC 9110 Section 7.2]), with the brackets of an IPv6
// literal. net/http rewrites a Host it finds invalid rather than refuse it
// (it sends another, or none), so the cache refuses such hosts itself.
//
// [RFC 9110 Section 7.2]: https://www.rfc-editor.org/rfc/rfc9110#section-7.2
func ValidHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if !hostChars[host[i]] {
			return false
		}
	}
	return true
}

// CanonicalHeader returns h with every field name in canonical form
// ([textproto.CanonicalMIMEHeaderKey]), the values of names that differ only
// in case combined as separate field lines. Names are visited in sorted order,
// the order in which net/http writes them on the wire, so the result does not
// depend on map iteration.
func CanonicalHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		out[canonical] = append(out[canonical], h[name]...)
	}
	return out
}

// FieldValuesFold returns the values of the field name in h, with names
// compared case-insensitively, as the wire compares them. name is canonical.
func FieldValuesFold(h http.Header, name string) []string {
	values := h[name]
	for other, v := range h {
		if other != name && len(other) == len(name) && textproto.CanonicalMIMEHeaderKey(other) == name {
			values = append(slices.Clip(values), v...)
		}
	}
	return values
}

// SingleFieldValue returns the value of the singleton field name of h
// ([RFC 9110 Section 5.5]). present reports whether the field has at least one
// field line; ok is false if it has none or if its lines differ.
//
// [RFC 9110 Section 5.5]: https://www.rfc-editor.org/rfc/rfc9110#section-5.5
func SingleFieldValue(h http.Header, name string) (v string, present, ok bool) {
	values := h.Values(name)
	if len(values) == 0 {
		return "", false, false
	}
	for _, other := range values[1:] {
		if other != values[0] {
			return "", true, false
		}
	}
	return values[0], true, true
}

// TrimOWS removes the optional whitespace (SP and HTAB) around a field value
// or list member, [RFC 9110 Section 5.6.3]: no more, unlike
// strings.TrimSpace.
//
// [RFC 9110 Section 5.6.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.3
func TrimOWS(s string) string {
	return strings.Trim(s, " \t")
}

// IsDigits reports whether s is 1*DIGIT: one or more ASCII digits, without a
// sign, the syntax of delta-seconds ([RFC 9111 Section 1.2.2]), of range
// positions ([RFC 9110 Section 14.1.2]) and of the numbers in an HTTP-date.
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
func IsDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ParseDigits returns the value of s, which satisfies isDigits, saturated
// at math.MaxInt64 instead of overflowing: a recipient of a numeral too
// large to represent treats it as very large ([RFC 9110 Section 14.1.2],
// [RFC 9111 Section 1.2.2]).
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
func ParseDigits(s string) int64 {
	var n int64
	for i := 0; i < len(s); i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return math.MaxInt64
		}
		n = n*10 + d
	}
	return n
}

// CanonicalName reports whether name, a token, is in the form
// [textproto.CanonicalMIMEHeaderKey] gives it: upper case at the start and
// after each hyphen, lower case elsewhere.
func CanonicalName(name string) bool {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// quotedStringEnd returns the index just after the quoted-string that starts at
// s[i], or -1 if it is not terminated. A backslash escapes the next byte
// (quoted-pair, [RFC 9110 Section 5.6.4]).
//
// [RFC 9110 Section 5.6.4]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4
func quotedStringEnd(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// memberEnd returns the index of the first sep at or after i in s that is
// not inside a quoted string, or len(s): the end of a list member
// ([RFC 9110 Section 5.6.1]) or parameter. A quoted string that is not
// terminated runs to the end of s.
//
// [RFC 9110 Section 5.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1
func memberEnd(s string, i int, sep byte) int {
	for i < len(s) && s[i] != sep {
		if s[i] != '"' {
			i++
			continue
		}
		if i = quotedStringEnd(s, i); i < 0 {
			return len(s)
		}
	}
	return i
}

// SplitOutsideQuotes splits s at each sep that is not inside a quoted string.
func SplitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	for start := 0; ; {
		end := memberEnd(s, start, sep)
		parts = append(parts, s[start:end])
		if end == len(s) {
			return parts
		}
		start = end + 1
	}
}

// ListContains reports whether the list field name of h (RFC 9110 Section
// 5.6.1), its lines combined, has a member equal to token, case-insensitively.
func ListContains(h http.Header, name, token string) bool {
	for _, line := range h[name] {
		for member := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(TrimOWS(member), token) {
				return true
			}
		}
	}
	return false
}
