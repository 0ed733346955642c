package acache

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// byteRange is a satisfiable range of a representation: the first and last
// byte positions, both inclusive, as an int-range of
// [RFC 9110 Section 14.1.2] is once it has been evaluated against the
// representation's length.
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
type byteRange struct{ first, last int64 }

// rangeOutcome says what to do with a request's Range field
// ([RFC 9110 Section 14.2]) against a stored representation of a given
// length.
//
// [RFC 9110 Section 14.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.2
type rangeOutcome int

// The outcomes of [parseRange]. Only rangeSingle comes with a byteRange; the
// others come with the zero byteRange.
const (
	// rangeIgnore: no Range field, or one the cache ignores, so the full 200
	// is served. A recipient may always ignore Range, and it must ignore an
	// invalid ranges-specifier ([RFC 9110 Section 14.2]); an unknown range
	// unit is ignored too ([RFC 9110 Section 14.1.1]).
	//
	// [RFC 9110 Section 14.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.1
	// [RFC 9110 Section 14.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.2
	rangeIgnore rangeOutcome = iota

	// rangeSingle: exactly one satisfiable range; answer 206
	// ([RFC 9110 Section 15.3.7]).
	//
	// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
	rangeSingle

	// rangeForward: two or more satisfiable ranges, which would need a
	// multipart/byteranges answer ([RFC 9110 Section 14.6]). The cache does
	// not build those, so the request goes to the origin.
	//
	// [RFC 9110 Section 14.6]: https://www.rfc-editor.org/rfc/rfc9110#section-14.6
	rangeForward

	// rangeUnsatisfiable: a valid ranges-specifier with no satisfiable range;
	// answer 416 with Content-Range "bytes */length"
	// ([RFC 9110 Section 15.5.17]).
	//
	// [RFC 9110 Section 15.5.17]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.17
	rangeUnsatisfiable
)

// String returns the outcome's name, for test and debug output.
func (o rangeOutcome) String() string {
	switch o {
	case rangeIgnore:
		return "rangeIgnore"
	case rangeSingle:
		return "rangeSingle"
	case rangeForward:
		return "rangeForward"
	case rangeUnsatisfiable:
		return "rangeUnsatisfiable"
	}
	return "rangeOutcome(" + strconv.Itoa(int(o)) + ")"
}

// parseRange evaluates a request's Range field values (h.Values("Range"))
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
func parseRange(values []string, size int64) (byteRange, rangeOutcome) {
	if size < 0 {
		return byteRange{}, rangeIgnore
	}
	unit, set, ok := strings.Cut(rangeJoinLines(values), "=")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return byteRange{}, rangeIgnore
	}
	var (
		found       byteRange
		elements    int
		satisfiable int
	)
	for elem := range strings.SplitSeq(set, ",") {
		elem = trimOWS(elem)
		if elem == "" {
			continue
		}
		elements++
		r, sat, valid := parseRangeSpec(elem, size)
		if !valid {
			return byteRange{}, rangeIgnore
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
		return byteRange{}, rangeIgnore
	case satisfiable == 0:
		return byteRange{}, rangeUnsatisfiable
	case size == 0:
		// Only a non-zero suffix-range is satisfiable on an empty
		// representation, and it selects all of it: serve the 200.
		return byteRange{}, rangeIgnore
	case satisfiable == 1:
		return found, rangeSingle
	default:
		return byteRange{}, rangeForward
	}
}

// parseRangeSpec parses one non-empty, OWS-trimmed range-spec of the bytes
// unit ([RFC 9110 Section 14.1.2]) and evaluates it against size >= 0. valid
// is false when the element is not an int-range or suffix-range, or is an
// int-range with last-pos < first-pos. When valid and satisfiable, r is the
// selected range, except on size 0, where r is meaningless.
//
// [RFC 9110 Section 14.1.2]: https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
func parseRangeSpec(elem string, size int64) (r byteRange, satisfiable, valid bool) {
	firstStr, lastStr, ok := strings.Cut(elem, "-")
	if !ok {
		return byteRange{}, false, false
	}
	if firstStr == "" {
		// suffix-range = "-" suffix-length
		if !isDigits(lastStr) {
			return byteRange{}, false, false
		}
		n := parseDigits(lastStr)
		switch {
		case n == 0:
			return byteRange{}, false, true
		case size == 0:
			return byteRange{}, true, true
		case n >= size:
			return byteRange{0, size - 1}, true, true
		default:
			return byteRange{size - n, size - 1}, true, true
		}
	}
	// int-range = first-pos "-" [ last-pos ]
	if !isDigits(firstStr) {
		return byteRange{}, false, false
	}
	if lastStr != "" {
		if !isDigits(lastStr) || rangeCompareNumerals(firstStr, lastStr) > 0 {
			return byteRange{}, false, false
		}
	}
	first := parseDigits(firstStr)
	if first >= size {
		return byteRange{}, false, true
	}
	last := size - 1
	if lastStr != "" {
		last = min(last, parseDigits(lastStr))
	}
	return byteRange{first, last}, true, true
}

// rangeJoinLines combines the Range field lines into one field value, as
// [RFC 9110 Section 5.3] combines field lines, with the leading and trailing
// OWS of each line removed and lines left empty by that skipped.
//
// [RFC 9110 Section 5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
func rangeJoinLines(values []string) string {
	if len(values) == 1 {
		return trimOWS(values[0])
	}
	var b strings.Builder
	for _, v := range values {
		v = trimOWS(v)
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

// rangeResponse returns the response to a Range request for a stored,
// complete body, for the outcomes of [parseRange] that the cache answers
// itself:
//
//   - rangeSingle: 206 Partial Content ([RFC 9110 Section 15.3.7]) with
//     Content-Range "bytes first-last/size" ([RFC 9110 Section 14.4]),
//     Content-Length (field and resp.ContentLength) the part's length, and a
//     body that reads body[first:last+1] without copying it and whose Close
//     does nothing. If r does not lie within body (a caller's mistake), the
//     answer is the 416 below instead.
//   - rangeUnsatisfiable: 416 Range Not Satisfiable
//     ([RFC 9110 Section 15.5.17]) with Content-Range "bytes */size",
//     Content-Length 0 and body [http.NoBody].
//
// For any other outcome it returns nil.
//
// header is a fresh map the caller owns, already cloned from the stored
// response; it is modified in place and becomes resp.Header. Only
// Content-Length and Content-Range change: the fields a 206 must repeat
// (Cache-Control, ETag, Expires, Vary, ...; [RFC 9110 Section 15.3.7]) stay,
// and so does Content-Encoding, because a byte range is a range of the
// representation as encoded. size is len(body). body is never written to.
// Proto is "HTTP/1.1", which the caller may overwrite.
//
// [RFC 9110 Section 14.4]: https://www.rfc-editor.org/rfc/rfc9110#section-14.4
// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
// [RFC 9110 Section 15.5.17]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.17
func rangeResponse(req *http.Request, header http.Header, body []byte, r byteRange, outcome rangeOutcome) *http.Response {
	if header == nil {
		header = make(http.Header)
	}
	size := int64(len(body))
	switch outcome {
	case rangeSingle:
		if r.first < 0 || r.first > r.last || r.last >= size {
			break // not a range of this body: answer 416 below
		}
		part := body[r.first : r.last+1 : r.last+1]
		n := int64(len(part))
		header.Del("Content-Length")
		header.Set("Content-Length", strconv.FormatInt(n, 10))
		header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", r.first, r.last, size))
		return newResponse(req, http.StatusPartialContent, statusLine(http.StatusPartialContent), header, newStoredBody(part), n)
	case rangeUnsatisfiable:
		// answered below
	default:
		return nil
	}
	header.Del("Content-Length")
	header.Set("Content-Length", "0")
	header.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
	return newResponse(req, http.StatusRequestedRangeNotSatisfiable, statusLine(http.StatusRequestedRangeNotSatisfiable), header, http.NoBody, 0)
}
