package httpsyntax

import (
	"strconv"
	"strings"
)

// This file writes and reads the Structured Field Values ([RFC 8941]) that
// the Cache-Status field (RFC 9211) is made of.
//
// [RFC 8941]: https://www.rfc-editor.org/rfc/rfc8941

// MaxSFInteger is the largest magnitude of an sf-integer, which has at most
// 15 digits ([RFC 8941 Section 3.3.1]).
//
// [RFC 8941 Section 3.3.1]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.1
const MaxSFInteger = 999_999_999_999_999

// WriteTokenOrString writes v as an sf-token when it is one, else as an
// sf-string.
func WriteTokenOrString(b *strings.Builder, v string) {
	if SFToken(v) {
		b.WriteString(v)
		return
	}
	WriteSFString(b, v)
}

// SFToken reports whether v is an sf-token ([RFC 8941 Section 3.3.4]): an
// ALPHA or "*", then tchar, ":" or "/".
//
// [RFC 8941 Section 3.3.4]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.4
func SFToken(v string) bool {
	if v == "" {
		return false
	}
	if c := v[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '*') {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !tokenChars[c] && c != ':' && c != '/' {
			return false
		}
	}
	return true
}

// WriteSFString writes v as an sf-string ([RFC 8941 Section 3.3.3]): in
// double quotes, `"` and `\` escaped with a backslash, and every byte that
// is not printable ASCII replaced by its percent-encoding, %XX.
//
// [RFC 8941 Section 3.3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.3
func WriteSFString(b *strings.Builder, v string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// StructuredItem returns a bare item ([RFC 8941 Section 3.3]): a token,
// integer, decimal, byte sequence or boolean as it is, an sf-string without
// its quotes and escapes ([RFC 8941 Section 4.2.5]). ok is false for
// anything else, such as an sf-string with a byte that is not printable
// ASCII, an escape other than \" and \\, or no closing quote.
//
// [RFC 8941 Section 3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3
// [RFC 8941 Section 4.2.5]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.5
func StructuredItem(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		return v, bareItem(v)
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			if i++; i == len(v) || v[i] != '"' && v[i] != '\\' {
				return "", false
			}
			b.WriteByte(v[i])
		case c == '"':
			return b.String(), i == len(v)-1
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // no closing quote
}

// bareItem reports whether v is a bare item other than an sf-string: an
// sf-token, an sf-integer, an sf-decimal, an sf-binary (byte sequence) or an
// sf-boolean ([RFC 8941 Section 3.3]).
//
// [RFC 8941 Section 3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3
func bareItem(v string) bool {
	if _, ok := SFInteger(v); ok || SFToken(v) || v == "?0" || v == "?1" {
		return true
	}
	if whole, frac, ok := strings.Cut(v, "."); ok { // sf-decimal
		_, wholeOK := SFInteger(whole)
		_, fracOK := SFInteger(frac)
		return wholeOK && len(strings.TrimPrefix(whole, "-")) <= 12 &&
			fracOK && frac[0] != '-' && len(frac) <= 3
	}
	if len(v) >= 2 && v[0] == ':' && v[len(v)-1] == ':' { // sf-binary
		for i := 1; i < len(v)-1; i++ {
			c := v[i]
			alnum := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
			if !alnum && c != '+' && c != '/' && c != '=' {
				return false
			}
		}
		return true
	}
	return false
}

// SFInteger parses an sf-integer ([RFC 8941 Section 3.3.1]): an optional
// minus and 1 to 15 digits.
//
// [RFC 8941 Section 3.3.1]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.1
func SFInteger(v string) (int64, bool) {
	if digits := strings.TrimPrefix(v, "-"); len(digits) > 15 || !IsDigits(digits) {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
