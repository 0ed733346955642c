package httpsyntax

import (
	"net/http"
	"strconv"
	"strings"
)

// This file holds the Range request field and the Content-Range response
// field of RFC 9110 Section 14.

// Span is the part of a representation that an incomplete response holds:
// the bytes r (first and last inclusive) of a representation of size bytes,
// as a Content-Range of [RFC 9110 Section 14.4] states it.
//
// [RFC 9110 Section 14.4]: https://www.rfc-editor.org/rfc/rfc9110#section-14.4
type Span struct {
	Range ByteRange
	Size  int64
}

// Length returns the number of bytes s holds.
func (s Span) Length() int64 { return s.Range.Last - s.Range.First + 1 }

// String returns s as a Content-Range field value, "bytes first-last/size".
func (s Span) String() string {
	return "bytes " + strconv.FormatInt(s.Range.First, 10) + "-" + strconv.FormatInt(s.Range.Last, 10) +
		"/" + strconv.FormatInt(s.Size, 10)
}

// parseContentRange parses a Content-Range field value of the bytes unit
// with a known complete length, per [RFC 9110 Section 14.4]:
//
//	Content-Range = range-unit SP incl-range "/" complete-length
//	incl-range    = first-pos "-" last-pos
//
// ok is false for anything else, including an unsatisfied-range ("*/n"), an
// unknown length ("/*"), and a range that is not within the length.
//
// [RFC 9110 Section 14.4]: https://www.rfc-editor.org/rfc/rfc9110#section-14.4
func parseContentRange(v string) (s Span, ok bool) {
	v = TrimOWS(v)
	unit, rest, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return Span{}, false
	}
	incl, complete, ok := strings.Cut(rest, "/")
	if !ok {
		return Span{}, false
	}
	first, last, ok := strings.Cut(incl, "-")
	const maxDigits = 18 // every numeral fits an int64
	for _, n := range []string{first, last, complete} {
		if !IsDigits(n) || len(n) > maxDigits {
			return Span{}, false
		}
	}
	if !ok {
		return Span{}, false
	}
	s = Span{ByteRange{ParseDigits(first), ParseDigits(last)}, ParseDigits(complete)}
	if s.Range.First > s.Range.Last || s.Range.Last >= s.Size {
		return Span{}, false
	}
	return s, true
}

// ContentRange returns the single Content-Range of h, or false.
func ContentRange(h http.Header) (Span, bool) {
	v, _, ok := SingleFieldValue(h, "Content-Range")
	if !ok {
		return Span{}, false
	}
	return parseContentRange(v)
}

// ByteRange is a satisfiable range of a representation: the first and last
// byte positions, both inclusive, as an int-range of
// [RFC 9110 Section 14.1.2] is once it has been evaluated against the
// representation's length.
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
type ByteRange struct{ First, Last int64 }

// RangeOutcome says what to do with a request's Range field
// ([RFC 9110 Section 14.2]) against a stored representation of a given
// length.
//
// [RFC 9110 Section 14.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.2
type RangeOutcome int

// The outcomes of [parseRange]. Only rangeSingle comes with a byteRange; the
// others come with the zero byteRange.
const (
	// RangeIgnore: no Range field, or one the cache ignores, so the full 200
	// is served. A recipient may always ignore Range, and it must ignore an
	// invalid ranges-specifier ([RFC 9110 Section 14.2]); an unknown range
	// unit is ignored too ([RFC 9110 Section 14.1.1]).
	//
	// [RFC 9110 Section 14.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.1
	// [RFC 9110 Section 14.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.2
	RangeIgnore RangeOutcome = iota

	// RangeSingle: exactly one satisfiable range; answer 206
	// ([RFC 9110 Section 15.3.7]).
	//
	// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
	RangeSingle

	// RangeForward: two or more satisfiable ranges, which would need a
	// multipart/byteranges answer ([RFC 9110 Section 14.6]). The cache does
	// not build those, so the request goes to the origin.
	//
	// [RFC 9110 Section 14.6]: https://www.rfc-editor.org/rfc/rfc9110#section-14.6
	RangeForward

	// RangeUnsatisfiable: a valid ranges-specifier with no satisfiable range;
	// answer 416 with Content-Range "bytes */length"
	// ([RFC 9110 Section 15.5.17]).
	//
	// [RFC 9110 Section 15.5.17]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.17
	RangeUnsatisfiable
)

// String returns the outcome's name, for test and debug output.
func (o RangeOutcome) String() string {
	switch o {
	case RangeIgnore:
		return "rangeIgnore"
	case RangeSingle:
		return "rangeSingle"
	case RangeForward:
		return "rangeForward"
	case RangeUnsatisfiable:
		return "rangeUnsatisfiable"
	}
	return "rangeOutcome(" + strconv.Itoa(int(o)) + ")"
}

// ParseRange evaluates a request's Range field values (h.Values("Range"))
// against a representation of size bytes, per [RFC 9110 Section 14.1.1],
// [RFC 9110 Section 14.1.2] and [RFC 9110 Section 14.2]. It never panics.
//
// The grammar is
//
//	ranges-specifier = range-unit "=" range-set
//	range-set        = 1#range-spec
//	range-spec       = int-range / suffix-range / other-range
//	int-range        = first-pos "-" [ last-pos ]
//	suffix-range     = "-" suffix-length
//
// with positions and lengths 1*DIGIT. The rules, in order:
//
//   - Several field lines are combined into one list, in order
//     ([RFC 9110 Section 5.3]); lines that are empty or only whitespace are
//     skipped.
//   - The range unit must be "bytes", compared case-insensitively; any other
//     unit, a missing "=", or a range-set with no non-empty element is
//     ignored (rangeIgnore). Leading and trailing OWS of the field value and
//     of each list element, and empty list elements, are accepted
//     ([RFC 9110 Section 5.6.1]); whitespace anywhere else (as in
//     "bytes =0-1" or "0 - 1") is not.
//   - If any element is not an int-range or suffix-range (signs, non-ASCII
//     digits, other-range, ...) or is an int-range whose last-pos is less than
//     its first-pos, the whole field is invalid and ignored (rangeIgnore).
//   - Numerals of any length are valid ([RFC 9110 Section 14.1.2] says to
//     expect large ones): a first-pos too large for an int64 is certainly at
//     least size, so that range is unsatisfiable; a too-large last-pos is
//     clamped like any last-pos >= size; a too-large suffix-length selects
//     the whole representation. last-pos < first-pos is decided on the
//     numerals themselves, exactly, whatever their length.
//   - An int-range is satisfiable if first-pos < size; its last-pos is
//     clamped to size-1. A suffix-range is satisfiable if its length is not 0;
//     it selects the last min(length, size) bytes.
//   - No satisfiable range gives rangeUnsatisfiable; exactly one gives
//     rangeSingle with that range (the unsatisfiable others are dropped, as
//     a server may); two or more give rangeForward. Ranges are not coalesced.
//
// Two cases need a choice of their own:
//
//   - size 0: an int-range is never satisfiable, but a suffix-range with a
//     non-zero length is ([RFC 9110 Section 14.1.2]: "the only satisfiable
//     form of range-spec"). A 206 cannot describe an empty part, and the
//     whole representation is what a suffix-range longer than it selects, so
//     such a field gives rangeIgnore: the full (empty) 200. Otherwise a
//     valid field on size 0 gives rangeUnsatisfiable.
//   - size < 0 (length unknown): rangeIgnore.
//
// [RFC 9110 Section 5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
// [RFC 9110 Section 5.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1
// [RFC 9110 Section 14.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.1
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
// [RFC 9110 Section 14.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.2
func ParseRange(values []string, size int64) (ByteRange, RangeOutcome) {
	if size < 0 {
		return ByteRange{}, RangeIgnore
	}
	unit, set, ok := strings.Cut(rangeJoinLines(values), "=")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return ByteRange{}, RangeIgnore
	}
	var (
		found       ByteRange
		elements    int
		satisfiable int
	)
	for elem := range strings.SplitSeq(set, ",") {
		elem = TrimOWS(elem)
		if elem == "" {
			continue
		}
		elements++
		r, sat, valid := parseRangeSpec(elem, size)
		if !valid {
			return ByteRange{}, RangeIgnore
		}
		if sat {
			satisfiable++
			if satisfiable == 1 {
				found = r
			}
		}
	}
	switch {
	case elements == 0:
		return ByteRange{}, RangeIgnore
	case satisfiable == 0:
		return ByteRange{}, RangeUnsatisfiable
	case size == 0:
		// Only a non-zero suffix-range is satisfiable on an empty
		// representation, and it selects all of it: serve the 200.
		return ByteRange{}, RangeIgnore
	case satisfiable == 1:
		return found, RangeSingle
	default:
		return ByteRange{}, RangeForward
	}
}

// parseRangeSpec parses one non-empty, OWS-trimmed range-spec of the bytes
// unit ([RFC 9110 Section 14.1.2]) and evaluates it against size >= 0. valid
// is false when the element is not an int-range or suffix-range, or is an
// int-range with last-pos < first-pos. When valid and satisfiable, r is the
// selected range, except on size 0, where r is meaningless.
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
func parseRangeSpec(elem string, size int64) (r ByteRange, satisfiable, valid bool) {
	firstStr, lastStr, ok := strings.Cut(elem, "-")
	if !ok {
		return ByteRange{}, false, false
	}
	if firstStr == "" {
		// suffix-range = "-" suffix-length
		if !IsDigits(lastStr) {
			return ByteRange{}, false, false
		}
		n := ParseDigits(lastStr)
		switch {
		case n == 0:
			return ByteRange{}, false, true
		case size == 0:
			return ByteRange{}, true, true
		case n >= size:
			return ByteRange{0, size - 1}, true, true
		default:
			return ByteRange{size - n, size - 1}, true, true
		}
	}
	// int-range = first-pos "-" [ last-pos ]
	if !IsDigits(firstStr) {
		return ByteRange{}, false, false
	}
	if lastStr != "" {
		if !IsDigits(lastStr) || rangeCompareNumerals(firstStr, lastStr) > 0 {
			return ByteRange{}, false, false
		}
	}
	first := ParseDigits(firstStr)
	if first >= size {
		return ByteRange{}, false, true
	}
	last := size - 1
	if lastStr != "" {
		last = min(last, ParseDigits(lastStr))
	}
	return ByteRange{first, last}, true, true
}

// rangeJoinLines combines the Range field lines into one field value, as
// [RFC 9110 Section 5.3] combines field lines, with the leading and trailing
// OWS of each line removed and lines left empty by that skipped.
//
// [RFC 9110 Section 5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
func rangeJoinLines(values []string) string {
	if len(values) == 1 {
		return TrimOWS(values[0])
	}
	var b strings.Builder
	for _, v := range values {
		v = TrimOWS(v)
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v)
	}
	return b.String()
}

// rangeCompareNumerals compares the values of the 1*DIGIT numerals a and b
// exactly, whatever their length, and returns -1, 0 or +1. It decides whether
// last-pos is less than first-pos ([RFC 9110 Section 14.1.2]) even when both
// overflow an int64.
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
func rangeCompareNumerals(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
