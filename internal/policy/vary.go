package policy

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds Vary (RFC 9111 Section 4.1): the selecting request fields
// and how they match.

// MaxVaryNames bounds how many request fields one response may vary on. A
// response that names more is not stored: matching it would cost time in
// proportion to a header the origin controls (net/http accepts 1 MiB of it by
// default, and more when configured).
const MaxVaryNames = 64

// VaryNames returns the canonical names of the request header fields listed in
// the Vary fields of h, per [RFC 9111 Section 4.1]. ok is false when the
// response can never be matched: a "*" member in any position or field line,
// or more than maxVaryNames names. The work is linear in the size of the
// field.
//
// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
func VaryNames(h http.Header) (names []string, ok bool) {
	for _, line := range h["Vary"] {
		for member := range strings.SplitSeq(line, ",") {
			member = httpsyntax.TrimOWS(member)
			switch {
			case member == "":
				continue
			case member == "*":
				return nil, false
			}
			if ContainsFold(names, member) { // at most maxVaryNames comparisons
				continue
			}
			if len(names) == MaxVaryNames {
				return nil, false
			}
			names = append(names, textproto.CanonicalMIMEHeaderKey(member))
		}
	}
	return names, true
}

// VaryNeverMatches reports a response whose Vary field no request can match
// (Section 4.1), which is therefore not stored.
func VaryNeverMatches(h http.Header) bool {
	_, ok := VaryNames(h)
	return !ok
}

// VaryHeader returns the values of the request header fields named in names,
// as the request sent them, for storing beside the response (Section 4.1).
func VaryHeader(req http.Header, names []string) http.Header {
	if len(names) == 0 {
		return nil
	}
	h := make(http.Header, len(names))
	for _, name := range names {
		if values, ok := req[name]; ok {
			h[name] = append([]string(nil), values...)
		}
	}
	return h
}

// VaryMatches reports whether a request selects the stored response, per
// [RFC 9111 Section 4.1]: every header field the response varies on must be
// absent from both requests or present in both with the same value once
// field lines are combined and whitespace around list members is removed,
// and, for Accept-Language and Accept-Encoding, once written in one form
// (see normalizedPreference), as Section 4.1 lets a cache do.
//
// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
func VaryMatches(names []string, stored, req http.Header) bool {
	for _, name := range names {
		storedValues, storedOK := stored[name]
		reqValues, reqOK := req[name]
		if storedOK != reqOK || SelectingValue(name, storedValues) != SelectingValue(name, reqValues) {
			return false
		}
	}
	return true
}

// SelectingValue returns the value of the request field name, with values,
// in the form varyMatches compares.
func SelectingValue(name string, values []string) string {
	switch name {
	case "Accept-Language", "Accept-Encoding":
		if v, ok := NormalizedPreference(values); ok {
			return v
		}
	}
	return NormalizedList(values)
}

// NormalizedPreference returns a list of weighted preferences, such as
// Accept-Language or Accept-Encoding (RFC 9110 Sections 12.4.2, 12.5.3,
// 12.5.4), in one form for every way of writing the same preferences: names
// lower-cased (both fields are case-insensitive), no whitespace, a weight of
// 1 left out and others written without trailing zeros, and the members
// ordered by weight, highest first. Members of equal weight keep their
// order, which a server may use to break the tie: two requests that differ
// in it select different variants. ok is false for a value that is not such
// a list (another parameter, a malformed weight): it is then compared as
// written.
func NormalizedPreference(values []string) (string, bool) {
	type member struct {
		name string
		q    int // thousandths
	}
	var members []member
	for _, line := range values {
		for _, raw := range strings.Split(line, ",") {
			raw = httpsyntax.TrimOWS(raw)
			if raw == "" {
				continue // empty list elements are allowed (RFC 9110 Section 5.6.1)
			}
			name, params, _ := strings.Cut(raw, ";")
			name = strings.ToLower(httpsyntax.TrimOWS(name))
			if !httpsyntax.ValidToken(name) {
				return "", false
			}
			q := 1000
			if params != "" {
				key, weight, found := strings.Cut(httpsyntax.TrimOWS(params), "=")
				if !found || !strings.EqualFold(httpsyntax.TrimOWS(key), "q") {
					return "", false
				}
				var ok bool
				if q, ok = ParseQValue(httpsyntax.TrimOWS(weight)); !ok {
					return "", false
				}
			}
			members = append(members, member{name, q})
		}
	}
	slices.SortStableFunc(members, func(a, b member) int { return b.q - a.q })
	var out strings.Builder
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(m.name)
		switch {
		case m.q == 0:
			out.WriteString(";q=0")
		case m.q != 1000:
			digits := []byte{byte('0' + m.q/100), byte('0' + m.q/10%10), byte('0' + m.q%10)}
			out.WriteString(";q=0." + strings.TrimRight(string(digits), "0"))
		}
	}
	return out.String(), true
}

// ParseQValue parses a weight (RFC 9110 Section 12.4.2): "0" or "1", or
// either with up to three decimals, at most 1. It returns thousandths.
func ParseQValue(s string) (int, bool) {
	whole, frac, _ := strings.Cut(s, ".") // "1." is a qvalue too
	if (whole != "0" && whole != "1") || len(frac) > 3 || (frac != "" && !httpsyntax.IsDigits(frac)) {
		return 0, false
	}
	n := 0
	for i := range 3 {
		n *= 10
		if i < len(frac) {
			n += int(frac[i] - '0')
		}
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// NormalizedList combines field lines into one list value with the optional
// whitespace around its members removed (RFC 9110 Section 5.3). Commas and
// whitespace inside a quoted string are part of the member.
func NormalizedList(values []string) string {
	if len(values) == 1 && !strings.ContainsAny(values[0], ", \t") {
		return values[0]
	}
	var b strings.Builder
	for _, line := range values {
		for _, member := range httpsyntax.SplitOutsideQuotes(line, ',') {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(httpsyntax.TrimOWS(member))
		}
	}
	return b.String()
}

func ContainsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
