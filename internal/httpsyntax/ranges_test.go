package httpsyntax

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rangeSize is the representation length of the examples in
// RFC 9110 Section 14.1.2.
const rangeSize = 10000

// rangeRow is one Range field (its field lines) evaluated against a
// representation of size bytes, and the expected result.
type rangeRow struct {
	values  []string
	size    int64
	outcome RangeOutcome
	want    ByteRange
}

// rangeLines returns its arguments as the field lines of one Range field.
func rangeLines(v ...string) []string { return v }

// rangeGroups are the parser's tests, named after the sections they check.
// They also seed FuzzParseRange.
var rangeGroups = []struct {
	name string
	rows []rangeRow
}{
	{name: "14.1.2 int-range", rows: []rangeRow{
		{rangeLines("bytes=0-499"), rangeSize, RangeSingle, ByteRange{0, 499}},
		{rangeLines("bytes=500-999"), rangeSize, RangeSingle, ByteRange{500, 999}},
		{rangeLines("bytes=0-0"), rangeSize, RangeSingle, ByteRange{0, 0}},
		{rangeLines("bytes=9999-9999"), rangeSize, RangeSingle, ByteRange{9999, 9999}},
		{rangeLines("bytes=0-9999"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=0007-0010"), rangeSize, RangeSingle, ByteRange{7, 10}},
	}},
	{name: "14.1.2 int-range without last-pos", rows: []rangeRow{
		{rangeLines("bytes=9500-"), rangeSize, RangeSingle, ByteRange{9500, 9999}},
		{rangeLines("bytes=0-"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=9999-"), rangeSize, RangeSingle, ByteRange{9999, 9999}},
	}},
	{name: "14.1.2 suffix range", rows: []rangeRow{
		{rangeLines("bytes=-500"), rangeSize, RangeSingle, ByteRange{9500, 9999}},
		{rangeLines("bytes=-1"), rangeSize, RangeSingle, ByteRange{9999, 9999}},
		{rangeLines("bytes=-9999"), rangeSize, RangeSingle, ByteRange{1, 9999}},
		{rangeLines("bytes=-0500"), rangeSize, RangeSingle, ByteRange{9500, 9999}},
	}},
	{name: "14.1.2 suffix longer than representation is all of it", rows: []rangeRow{
		{rangeLines("bytes=-10000"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=-10001"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=-20000"), rangeSize, RangeSingle, ByteRange{0, 9999}},
	}},
	{name: "14.1.2 last-pos clamped", rows: []rangeRow{
		{rangeLines("bytes=9000-20000"), rangeSize, RangeSingle, ByteRange{9000, 9999}},
		{rangeLines("bytes=0-10000"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=9999-10000"), rangeSize, RangeSingle, ByteRange{9999, 9999}},
	}},
	{name: "14.1.2 first-pos beyond size unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=10000-"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=10000-10005"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=20000-30000"), rangeSize, RangeUnsatisfiable, ByteRange{}},
	}},
	{name: "14.1.2 zero suffix-length unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=-0"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=-000"), rangeSize, RangeUnsatisfiable, ByteRange{}},
	}},
	{name: "14.1.2 several ranges forwarded", rows: []rangeRow{
		{rangeLines("bytes=0-0,-1"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes= 0-999, 4500-5499, -1000"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes=0-1,20000-,5-"), rangeSize, RangeForward, ByteRange{}},
	}},
	{name: "14.1.2 overlapping ranges not coalesced", rows: []rangeRow{
		{rangeLines("bytes=500-600,601-999"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes=500-700,601-999"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes=0-0,0-0"), rangeSize, RangeForward, ByteRange{}},
	}},
	{name: "14.1.2 one satisfiable of two", rows: []rangeRow{
		{rangeLines("bytes=20000-,0-99"), rangeSize, RangeSingle, ByteRange{0, 99}},
		{rangeLines("bytes=-0,5-9"), rangeSize, RangeSingle, ByteRange{5, 9}},
		{rangeLines("bytes=-500,10000-10001"), rangeSize, RangeSingle, ByteRange{9500, 9999}},
	}},
	{name: "14.1.2 none satisfiable of several", rows: []rangeRow{
		{rangeLines("bytes=20000-,-0"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=10000-,10001-10002,-0"), rangeSize, RangeUnsatisfiable, ByteRange{}},
	}},
	{name: "14.1.2 size 1", rows: []rangeRow{
		{rangeLines("bytes=0-"), 1, RangeSingle, ByteRange{0, 0}},
		{rangeLines("bytes=-1"), 1, RangeSingle, ByteRange{0, 0}},
		{rangeLines("bytes=-5"), 1, RangeSingle, ByteRange{0, 0}},
		{rangeLines("bytes=0-5"), 1, RangeSingle, ByteRange{0, 0}},
		{rangeLines("bytes=1-"), 1, RangeUnsatisfiable, ByteRange{}},
	}},
	{name: "14.1.2 size 0 int-range unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=0-"), 0, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=0-0"), 0, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=0-499"), 0, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=-0"), 0, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=0-0,-0"), 0, RangeUnsatisfiable, ByteRange{}},
	}},
	// A non-zero suffix-range is the only satisfiable range of an empty
	// representation; it selects all of it, which only a 200 can carry.
	{name: "14.1.2 size 0 suffix-range serves the empty 200", rows: []rangeRow{
		{rangeLines("bytes=-1"), 0, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=-500"), 0, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0-,-500"), 0, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=-1,-2"), 0, RangeIgnore, ByteRange{}},
	}},
	{name: "14.1.2 large numerals do not overflow", rows: []rangeRow{
		{rangeLines("bytes=99999999999999999999-"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=9223372036854775807-"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=9223372036854775808-"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=99999999999999999999-99999999999999999999"), rangeSize, RangeUnsatisfiable, ByteRange{}},
		{rangeLines("bytes=0-99999999999999999999"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=5-9223372036854775807"), rangeSize, RangeSingle, ByteRange{5, 9999}},
		{rangeLines("bytes=-99999999999999999999"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=-9223372036854775807"), rangeSize, RangeSingle, ByteRange{0, 9999}},
		{rangeLines("bytes=000000000000000000000000000001-0000000000000000000000000002"), rangeSize, RangeSingle, ByteRange{1, 2}},
		{rangeLines("bytes=0-"), math.MaxInt64, RangeSingle, ByteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-9223372036854775807"), math.MaxInt64, RangeSingle, ByteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-99999999999999999999"), math.MaxInt64, RangeSingle, ByteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-1"), math.MaxInt64, RangeSingle, ByteRange{math.MaxInt64 - 1, math.MaxInt64 - 1}},
		{rangeLines("bytes=9223372036854775806-99999999999999999999"), math.MaxInt64, RangeSingle, ByteRange{math.MaxInt64 - 1, math.MaxInt64 - 1}},
		{rangeLines("bytes=9223372036854775807-"), math.MaxInt64, RangeUnsatisfiable, ByteRange{}},
	}},
	{name: "14.1.1 range unit is case-insensitive", rows: []rangeRow{
		{rangeLines("Bytes=0-1"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("BYTES=-1"), rangeSize, RangeSingle, ByteRange{9999, 9999}},
		{rangeLines("bYtEs=0-0,-1"), rangeSize, RangeForward, ByteRange{}},
	}},
	{name: "5.6.1 OWS and empty list elements", rows: []rangeRow{
		{rangeLines("bytes=0-1, ,"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("bytes=,,0-1,,"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("bytes= 0-1"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines(" \tbytes=0-1\t "), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("bytes=0-1 ,\t 5-6"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes=\t-5 ,"), rangeSize, RangeSingle, ByteRange{9995, 9999}},
	}},
	{name: "5.3 several field lines are one list", rows: []rangeRow{
		{rangeLines("bytes=0-1", "5-6"), rangeSize, RangeForward, ByteRange{}},
		{rangeLines("bytes=0-1", "20000-"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("bytes=0-1", ""), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("", " ", "bytes=0-1"), rangeSize, RangeSingle, ByteRange{0, 1}},
		{rangeLines("bytes=", "-5"), rangeSize, RangeSingle, ByteRange{9995, 9999}},
		// The second line's "bytes=5-6" is not a range-spec.
		{rangeLines("bytes=0-1", "bytes=5-6"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 no Range field", rows: []rangeRow{
		{nil, rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines(), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines(""), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines(" ", "\t"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 unknown unit ignored", rows: []rangeRow{
		{rangeLines("items=0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("byte=0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytesx=0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("=0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes =0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("none"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 missing equals or range-set ignored", rows: []rangeRow{
		{rangeLines("bytes"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes 0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("0-5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes="), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes= , ,\t"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=", ""), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 first after last invalid", rows: []rangeRow{
		{rangeLines("bytes=500-499"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=10-9"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0010-9"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=99999999999999999999-99999999999999999998"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=100000000000000000000-99999999999999999999"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=20000-19999"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 one invalid range-spec invalidates the field", rows: []rangeRow{
		{rangeLines("bytes=0-1,5-4"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=20000-,5-4"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0-1,x"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=-5,-"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=5-4"), 0, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 signs and non-digits invalid", rows: []rangeRow{
		{rangeLines("bytes=-"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=--5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=-+5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=+1-2"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1-+2"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1--2"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1-2-3"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=a-b"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0x10-20"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1.5-2"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1e3-"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=\u0661-\u0665"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0-1\x00"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "14.2 whitespace inside a range-spec invalid", rows: []rangeRow{
		{rangeLines("bytes=0 -5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0- 5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=- 5"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=0-1\n"), rangeSize, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=1 2-3"), rangeSize, RangeIgnore, ByteRange{}},
	}},
	{name: "length unknown ignored", rows: []rangeRow{
		{rangeLines("bytes=0-1"), -1, RangeIgnore, ByteRange{}},
		{rangeLines("bytes=-1"), math.MinInt64, RangeIgnore, ByteRange{}},
	}},
}

func TestRFC9110_14_Range(t *testing.T) {
	for _, g := range rangeGroups {
		t.Run(g.name, func(t *testing.T) {
			for _, row := range g.rows {
				r, outcome := ParseRange(row.values, row.size)
				assert.Equal(t, row.outcome, outcome, "%q on %d", row.values, row.size)
				assert.Equal(t, row.want, r, "%q on %d", row.values, row.size)
			}
		})
	}
}

// FuzzParseRange checks parseRange's invariants. A "\n" in the input
// separates Range field lines; size is the fuzzed representation length, and
// the sizes 0, 1000 and 2000 are checked against each other.
func FuzzParseRange(f *testing.F) {
	for _, g := range rangeGroups {
		for _, r := range g.rows {
			f.Add(strings.Join(r.values, "\n"), r.size)
		}
	}
	f.Fuzz(func(t *testing.T, in string, size int64) {
		values := strings.Split(in, "\n")
		at := func(size int64) (ByteRange, RangeOutcome) {
			r, o := ParseRange(values, size)
			r2, o2 := ParseRange(values, size)
			require.Equal(t, o, o2, "deterministic")
			require.Equal(t, r, r2, "deterministic")
			switch o {
			case RangeSingle:
				require.True(t, 0 <= r.First && r.First <= r.Last && r.Last < size, "%v on %d", r, size)
			case RangeIgnore, RangeForward, RangeUnsatisfiable:
				require.Equal(t, ByteRange{}, r)
			default:
				t.Fatalf("outcome %v", o)
			}
			if size < 0 {
				require.Equal(t, RangeIgnore, o)
			}
			return r, o
		}
		at(size)
		_, o0 := at(0)
		_, o1000 := at(1000)
		_, o2000 := at(2000)

		// Validity does not depend on the length; on an empty
		// representation only ignoring or 416 are possible.
		require.Equal(t, o1000 == RangeIgnore, o2000 == RangeIgnore)
		if o1000 == RangeIgnore {
			require.Equal(t, RangeIgnore, o0)
		}
		require.Contains(t, []RangeOutcome{RangeIgnore, RangeUnsatisfiable}, o0)

		// A range satisfiable on 1000 bytes is satisfiable on 2000.
		switch o1000 {
		case RangeUnsatisfiable:
			require.Contains(t, []RangeOutcome{RangeUnsatisfiable, RangeSingle, RangeForward}, o2000)
		case RangeSingle:
			require.Contains(t, []RangeOutcome{RangeSingle, RangeForward}, o2000)
		case RangeForward:
			require.Equal(t, RangeForward, o2000)
		}
		if o2000 == RangeUnsatisfiable {
			require.Equal(t, RangeUnsatisfiable, o1000)
		}

		if o1000 != RangeIgnore {
			joined := strings.Trim(strings.Join(values, ","), " \t,")
			require.True(t, len(joined) > len("bytes=") && strings.EqualFold(joined[:len("bytes=")], "bytes="), "%q", in)
			set := joined[len("bytes="):]
			require.True(t, strings.ContainsAny(set, "0123456789"), "%q", in)
			require.NotContains(t, set, "=")
			if o1000 == RangeForward {
				require.Contains(t, set, ",")
			}
		}

	})
}

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Span
		ok   bool
	}{
		{"bytes 0-9/10", Span{ByteRange{0, 9}, 10}, true},
		{"bytes 5-5/6", Span{ByteRange{5, 5}, 6}, true},
		{"BYTES 0-0/1", Span{ByteRange{0, 0}, 1}, true},
		{" bytes 1-2/3 ", Span{ByteRange{1, 2}, 3}, true},
		{"bytes 0-9/*", Span{}, false},
		{"bytes */10", Span{}, false},
		{"bytes 5-4/10", Span{}, false},
		{"bytes 0-10/10", Span{}, false},
		{"bytes 0-9", Span{}, false},
		{"bytes=0-9/10", Span{}, false},
		{"items 0-9/10", Span{}, false},
		{"bytes -1-9/10", Span{}, false},
		{"bytes 0-+9/10", Span{}, false},
		{"bytes 0-9/10000000000000000000000", Span{}, false},
		{"", Span{}, false},
	} {
		got, ok := parseContentRange(tc.in)
		assert.Equal(t, tc.ok, ok, "parseContentRange(%q)", tc.in)
		assert.Equal(t, tc.want, got, "parseContentRange(%q)", tc.in)
	}
}
