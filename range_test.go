package acache

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rangeRow is one Range field (its field lines) evaluated against a
// representation of size bytes, and the expected result.
type rangeRow struct {
	values  []string
	size    int64
	outcome rangeOutcome
	want    byteRange
}

// rangeSize is the representation length of the examples in
// RFC 9110 Section 14.1.2.
const rangeSize = 10000

// rangeLines returns its arguments as the field lines of one Range field.
func rangeLines(v ...string) []string { return v }

// rangeGroups are the parser's tests, named after the sections they check.
// They also seed FuzzParseRange.
var rangeGroups = []struct {
	name string
	rows []rangeRow
}{
	{name: "14.1.2 int-range", rows: []rangeRow{
		{rangeLines("bytes=0-499"), rangeSize, rangeSingle, byteRange{0, 499}},
		{rangeLines("bytes=500-999"), rangeSize, rangeSingle, byteRange{500, 999}},
		{rangeLines("bytes=0-0"), rangeSize, rangeSingle, byteRange{0, 0}},
		{rangeLines("bytes=9999-9999"), rangeSize, rangeSingle, byteRange{9999, 9999}},
		{rangeLines("bytes=0-9999"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=0007-0010"), rangeSize, rangeSingle, byteRange{7, 10}},
	}},
	{name: "14.1.2 int-range without last-pos", rows: []rangeRow{
		{rangeLines("bytes=9500-"), rangeSize, rangeSingle, byteRange{9500, 9999}},
		{rangeLines("bytes=0-"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=9999-"), rangeSize, rangeSingle, byteRange{9999, 9999}},
	}},
	{name: "14.1.2 suffix range", rows: []rangeRow{
		{rangeLines("bytes=-500"), rangeSize, rangeSingle, byteRange{9500, 9999}},
		{rangeLines("bytes=-1"), rangeSize, rangeSingle, byteRange{9999, 9999}},
		{rangeLines("bytes=-9999"), rangeSize, rangeSingle, byteRange{1, 9999}},
		{rangeLines("bytes=-0500"), rangeSize, rangeSingle, byteRange{9500, 9999}},
	}},
	{name: "14.1.2 suffix longer than representation is all of it", rows: []rangeRow{
		{rangeLines("bytes=-10000"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=-10001"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=-20000"), rangeSize, rangeSingle, byteRange{0, 9999}},
	}},
	{name: "14.1.2 last-pos clamped", rows: []rangeRow{
		{rangeLines("bytes=9000-20000"), rangeSize, rangeSingle, byteRange{9000, 9999}},
		{rangeLines("bytes=0-10000"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=9999-10000"), rangeSize, rangeSingle, byteRange{9999, 9999}},
	}},
	{name: "14.1.2 first-pos beyond size unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=10000-"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=10000-10005"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=20000-30000"), rangeSize, rangeUnsatisfiable, byteRange{}},
	}},
	{name: "14.1.2 zero suffix-length unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=-0"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=-000"), rangeSize, rangeUnsatisfiable, byteRange{}},
	}},
	{name: "14.1.2 several ranges forwarded", rows: []rangeRow{
		{rangeLines("bytes=0-0,-1"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes= 0-999, 4500-5499, -1000"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes=0-1,20000-,5-"), rangeSize, rangeForward, byteRange{}},
	}},
	{name: "14.1.2 overlapping ranges not coalesced", rows: []rangeRow{
		{rangeLines("bytes=500-600,601-999"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes=500-700,601-999"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes=0-0,0-0"), rangeSize, rangeForward, byteRange{}},
	}},
	{name: "14.1.2 one satisfiable of two", rows: []rangeRow{
		{rangeLines("bytes=20000-,0-99"), rangeSize, rangeSingle, byteRange{0, 99}},
		{rangeLines("bytes=-0,5-9"), rangeSize, rangeSingle, byteRange{5, 9}},
		{rangeLines("bytes=-500,10000-10001"), rangeSize, rangeSingle, byteRange{9500, 9999}},
	}},
	{name: "14.1.2 none satisfiable of several", rows: []rangeRow{
		{rangeLines("bytes=20000-,-0"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=10000-,10001-10002,-0"), rangeSize, rangeUnsatisfiable, byteRange{}},
	}},
	{name: "14.1.2 size 1", rows: []rangeRow{
		{rangeLines("bytes=0-"), 1, rangeSingle, byteRange{0, 0}},
		{rangeLines("bytes=-1"), 1, rangeSingle, byteRange{0, 0}},
		{rangeLines("bytes=-5"), 1, rangeSingle, byteRange{0, 0}},
		{rangeLines("bytes=0-5"), 1, rangeSingle, byteRange{0, 0}},
		{rangeLines("bytes=1-"), 1, rangeUnsatisfiable, byteRange{}},
	}},
	{name: "14.1.2 size 0 int-range unsatisfiable", rows: []rangeRow{
		{rangeLines("bytes=0-"), 0, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=0-0"), 0, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=0-499"), 0, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=-0"), 0, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=0-0,-0"), 0, rangeUnsatisfiable, byteRange{}},
	}},
	// A non-zero suffix-range is the only satisfiable range of an empty
	// representation; it selects all of it, which only a 200 can carry.
	{name: "14.1.2 size 0 suffix-range serves the empty 200", rows: []rangeRow{
		{rangeLines("bytes=-1"), 0, rangeIgnore, byteRange{}},
		{rangeLines("bytes=-500"), 0, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0-,-500"), 0, rangeIgnore, byteRange{}},
		{rangeLines("bytes=-1,-2"), 0, rangeIgnore, byteRange{}},
	}},
	{name: "14.1.2 large numerals do not overflow", rows: []rangeRow{
		{rangeLines("bytes=99999999999999999999-"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=9223372036854775807-"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=9223372036854775808-"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=99999999999999999999-99999999999999999999"), rangeSize, rangeUnsatisfiable, byteRange{}},
		{rangeLines("bytes=0-99999999999999999999"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=5-9223372036854775807"), rangeSize, rangeSingle, byteRange{5, 9999}},
		{rangeLines("bytes=-99999999999999999999"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=-9223372036854775807"), rangeSize, rangeSingle, byteRange{0, 9999}},
		{rangeLines("bytes=000000000000000000000000000001-0000000000000000000000000002"), rangeSize, rangeSingle, byteRange{1, 2}},
		{rangeLines("bytes=0-"), math.MaxInt64, rangeSingle, byteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-9223372036854775807"), math.MaxInt64, rangeSingle, byteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-99999999999999999999"), math.MaxInt64, rangeSingle, byteRange{0, math.MaxInt64 - 1}},
		{rangeLines("bytes=-1"), math.MaxInt64, rangeSingle, byteRange{math.MaxInt64 - 1, math.MaxInt64 - 1}},
		{rangeLines("bytes=9223372036854775806-99999999999999999999"), math.MaxInt64, rangeSingle, byteRange{math.MaxInt64 - 1, math.MaxInt64 - 1}},
		{rangeLines("bytes=9223372036854775807-"), math.MaxInt64, rangeUnsatisfiable, byteRange{}},
	}},
	{name: "14.1.1 range unit is case-insensitive", rows: []rangeRow{
		{rangeLines("Bytes=0-1"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("BYTES=-1"), rangeSize, rangeSingle, byteRange{9999, 9999}},
		{rangeLines("bYtEs=0-0,-1"), rangeSize, rangeForward, byteRange{}},
	}},
	{name: "5.6.1 OWS and empty list elements", rows: []rangeRow{
		{rangeLines("bytes=0-1, ,"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("bytes=,,0-1,,"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("bytes= 0-1"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines(" \tbytes=0-1\t "), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("bytes=0-1 ,\t 5-6"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes=\t-5 ,"), rangeSize, rangeSingle, byteRange{9995, 9999}},
	}},
	{name: "5.3 several field lines are one list", rows: []rangeRow{
		{rangeLines("bytes=0-1", "5-6"), rangeSize, rangeForward, byteRange{}},
		{rangeLines("bytes=0-1", "20000-"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("bytes=0-1", ""), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("", " ", "bytes=0-1"), rangeSize, rangeSingle, byteRange{0, 1}},
		{rangeLines("bytes=", "-5"), rangeSize, rangeSingle, byteRange{9995, 9999}},
		// The second line's "bytes=5-6" is not a range-spec.
		{rangeLines("bytes=0-1", "bytes=5-6"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 no Range field", rows: []rangeRow{
		{nil, rangeSize, rangeIgnore, byteRange{}},
		{rangeLines(), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines(""), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines(" ", "\t"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 unknown unit ignored", rows: []rangeRow{
		{rangeLines("items=0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("byte=0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytesx=0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("=0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes =0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("none"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 missing equals or range-set ignored", rows: []rangeRow{
		{rangeLines("bytes"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes 0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("0-5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes="), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes= , ,\t"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=", ""), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 first after last invalid", rows: []rangeRow{
		{rangeLines("bytes=500-499"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=10-9"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0010-9"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=99999999999999999999-99999999999999999998"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=100000000000000000000-99999999999999999999"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=20000-19999"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 one invalid range-spec invalidates the field", rows: []rangeRow{
		{rangeLines("bytes=0-1,5-4"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=20000-,5-4"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0-1,x"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=-5,-"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=5-4"), 0, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 signs and non-digits invalid", rows: []rangeRow{
		{rangeLines("bytes=-"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=--5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=-+5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=+1-2"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1-+2"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1--2"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1-2-3"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=a-b"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0x10-20"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1.5-2"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1e3-"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=\u0661-\u0665"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0-1\x00"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "14.2 whitespace inside a range-spec invalid", rows: []rangeRow{
		{rangeLines("bytes=0 -5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0- 5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=- 5"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=0-1\n"), rangeSize, rangeIgnore, byteRange{}},
		{rangeLines("bytes=1 2-3"), rangeSize, rangeIgnore, byteRange{}},
	}},
	{name: "length unknown ignored", rows: []rangeRow{
		{rangeLines("bytes=0-1"), -1, rangeIgnore, byteRange{}},
		{rangeLines("bytes=-1"), math.MinInt64, rangeIgnore, byteRange{}},
	}},
}

func TestRFC9110_14_Range(t *testing.T) {
	for _, g := range rangeGroups {
		t.Run(g.name, func(t *testing.T) {
			for _, row := range g.rows {
				r, outcome := parseRange(row.values, row.size)
				assert.Equal(t, row.outcome, outcome, "%q on %d", row.values, row.size)
				assert.Equal(t, row.want, r, "%q on %d", row.values, row.size)
			}
		})
	}
}

// rangeBody is a stored body of 26 distinct bytes.
const rangeBody = "abcdefghijklmnopqrstuvwxyz"

// rangeStoredHeader is the header of a stored 200 for rangeBody.
func rangeStoredHeader() http.Header {
	return http.Header{
		"Content-Type":     {"text/plain"},
		"Content-Length":   {"26"},
		"Content-Encoding": {"identity"},
		"Etag":             {`"v1"`},
		"Last-Modified":    {"Sat, 29 Oct 1994 19:43:31 GMT"},
		"Cache-Control":    {"max-age=60"},
		"Vary":             {"Accept"},
	}
}

func TestRangeResponse(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
	require.NoError(t, err)

	t.Run("15.3.7 single part", func(t *testing.T) {
		for _, c := range []struct {
			r    byteRange
			want string
		}{
			{byteRange{2, 5}, "cdef"},
			{byteRange{0, 0}, "a"},
			{byteRange{25, 25}, "z"},
			{byteRange{0, 25}, rangeBody},
			{byteRange{20, 25}, "uvwxyz"},
		} {
			body := []byte(rangeBody)
			header := rangeStoredHeader()
			header["Content-Length"] = []string{"26", "26"}
			resp := rangeResponse(req, header, body, c.r, rangeSingle)
			require.NotNil(t, resp)
			assert.Equal(t, "206 Partial Content", resp.Status)
			assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			assert.Equal(t, 1, resp.ProtoMajor)
			assert.Equal(t, 1, resp.ProtoMinor)
			assert.Same(t, req, resp.Request)
			assert.Equal(t, reflect.ValueOf(header).Pointer(), reflect.ValueOf(resp.Header).Pointer(), "header is modified in place")
			want := "bytes " + strconv.FormatInt(c.r.first, 10) + "-" + strconv.FormatInt(c.r.last, 10) + "/26"
			assert.Equal(t, []string{want}, resp.Header.Values("Content-Range"))
			assert.Equal(t, []string{strconv.Itoa(len(c.want))}, resp.Header.Values("Content-Length"))
			assert.Equal(t, int64(len(c.want)), resp.ContentLength)
			for _, k := range []string{"Content-Type", "Content-Encoding", "Etag", "Last-Modified", "Cache-Control", "Vary"} {
				assert.Equal(t, rangeStoredHeader()[k], resp.Header[k], k)
			}
			require.NotNil(t, resp.Body)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
			require.NoError(t, resp.Body.Close())
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, rangeBody, string(body), "the stored body is unchanged")
		}
	})

	t.Run("15.3.7 part is read from the stored bytes", func(t *testing.T) {
		body := []byte(rangeBody)
		resp := rangeResponse(req, http.Header{}, body, byteRange{1, 3}, rangeSingle)
		require.NotNil(t, resp)
		got := make([]byte, 1)
		_, err := io.ReadFull(resp.Body, got)
		require.NoError(t, err)
		assert.Equal(t, "b", string(got))
		// Not a copy: a later change to the stored array shows in the rest.
		body[2] = 'C'
		rest, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "Cd", string(rest))
	})

	t.Run("15.5.17 unsatisfiable", func(t *testing.T) {
		for _, stored := range []string{rangeBody, ""} {
			body := []byte(stored)
			header := rangeStoredHeader()
			resp := rangeResponse(req, header, body, byteRange{}, rangeUnsatisfiable)
			require.NotNil(t, resp)
			assert.Equal(t, "416 Requested Range Not Satisfiable", resp.Status)
			assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
			assert.Equal(t, "HTTP/1.1", resp.Proto)
			assert.Same(t, req, resp.Request)
			assert.Equal(t, []string{"bytes */" + strconv.Itoa(len(stored))}, resp.Header.Values("Content-Range"))
			assert.Equal(t, []string{"0"}, resp.Header.Values("Content-Length"))
			assert.Equal(t, int64(0), resp.ContentLength)
			assert.Equal(t, `"v1"`, resp.Header.Get("Etag"))
			require.NotNil(t, resp.Body)
			assert.Equal(t, http.NoBody, resp.Body)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Empty(t, got)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, stored, string(body))
		}
	})

	t.Run("a range outside the body gives 416", func(t *testing.T) {
		for _, r := range []byteRange{{-1, 3}, {5, 4}, {0, 26}, {26, 26}, {math.MaxInt64, math.MaxInt64}, {0, math.MaxInt64}} {
			resp := rangeResponse(req, rangeStoredHeader(), []byte(rangeBody), r, rangeSingle)
			require.NotNil(t, resp, "%v", r)
			assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode, "%v", r)
			assert.Equal(t, "bytes */26", resp.Header.Get("Content-Range"))
		}
	})

	t.Run("other outcomes give nil", func(t *testing.T) {
		for _, o := range []rangeOutcome{rangeIgnore, rangeForward, rangeOutcome(99)} {
			assert.Nil(t, rangeResponse(req, rangeStoredHeader(), []byte(rangeBody), byteRange{0, 1}, o), "%v", o)
		}
	})

	t.Run("nil header", func(t *testing.T) {
		resp := rangeResponse(req, nil, []byte(rangeBody), byteRange{0, 1}, rangeSingle)
		require.NotNil(t, resp)
		assert.Equal(t, "bytes 0-1/26", resp.Header.Get("Content-Range"))
		assert.Equal(t, "2", resp.Header.Get("Content-Length"))
	})

	t.Run("with parseRange", func(t *testing.T) {
		body := []byte(rangeBody)
		for _, c := range []struct{ field, want string }{
			{"bytes=-5", "vwxyz"},
			{"bytes=24-", "yz"},
			{"bytes=3-5", "def"},
			{"bytes=100-,0-1", "ab"},
		} {
			r, o := parseRange([]string{c.field}, int64(len(body)))
			require.Equal(t, rangeSingle, o, c.field)
			resp := rangeResponse(req, rangeStoredHeader(), body, r, o)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got), c.field)
		}
	})
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
	body := bytes.Repeat([]byte("0123456789"), 100)
	f.Fuzz(func(t *testing.T, in string, size int64) {
		values := strings.Split(in, "\n")
		at := func(size int64) (byteRange, rangeOutcome) {
			r, o := parseRange(values, size)
			r2, o2 := parseRange(values, size)
			require.Equal(t, o, o2, "deterministic")
			require.Equal(t, r, r2, "deterministic")
			switch o {
			case rangeSingle:
				require.True(t, 0 <= r.first && r.first <= r.last && r.last < size, "%v on %d", r, size)
			case rangeIgnore, rangeForward, rangeUnsatisfiable:
				require.Equal(t, byteRange{}, r)
			default:
				t.Fatalf("outcome %v", o)
			}
			if size < 0 {
				require.Equal(t, rangeIgnore, o)
			}
			return r, o
		}
		at(size)
		_, o0 := at(0)
		r1000, o1000 := at(1000)
		_, o2000 := at(2000)

		// Validity does not depend on the length; on an empty
		// representation only ignoring or 416 are possible.
		require.Equal(t, o1000 == rangeIgnore, o2000 == rangeIgnore)
		if o1000 == rangeIgnore {
			require.Equal(t, rangeIgnore, o0)
		}
		require.Contains(t, []rangeOutcome{rangeIgnore, rangeUnsatisfiable}, o0)

		// A range satisfiable on 1000 bytes is satisfiable on 2000.
		switch o1000 {
		case rangeUnsatisfiable:
			require.Contains(t, []rangeOutcome{rangeUnsatisfiable, rangeSingle, rangeForward}, o2000)
		case rangeSingle:
			require.Contains(t, []rangeOutcome{rangeSingle, rangeForward}, o2000)
		case rangeForward:
			require.Equal(t, rangeForward, o2000)
		}
		if o2000 == rangeUnsatisfiable {
			require.Equal(t, rangeUnsatisfiable, o1000)
		}

		if o1000 != rangeIgnore {
			joined := strings.Trim(strings.Join(values, ","), " \t,")
			require.True(t, len(joined) > len("bytes=") && strings.EqualFold(joined[:len("bytes=")], "bytes="), "%q", in)
			set := joined[len("bytes="):]
			require.True(t, strings.ContainsAny(set, "0123456789"), "%q", in)
			require.NotContains(t, set, "=")
			if o1000 == rangeForward {
				require.Contains(t, set, ",")
			}
		}

		header := http.Header{"Content-Length": {"1000"}}
		resp := rangeResponse(nil, header, body, r1000, o1000)
		switch o1000 {
		case rangeSingle:
			require.NotNil(t, resp)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, body[r1000.first:r1000.last+1], got)
			require.Equal(t, int64(len(got)), resp.ContentLength)
			require.Equal(t, strconv.Itoa(len(got)), resp.Header.Get("Content-Length"))
		case rangeUnsatisfiable:
			require.NotNil(t, resp)
			require.Equal(t, "bytes */1000", resp.Header.Get("Content-Range"))
		default:
			require.Nil(t, resp)
		}
	})
}
