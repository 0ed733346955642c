package acache

import (
	"cmp"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ds returns a delta-seconds value that is set to n.
func ds(n int64) deltaSeconds { return deltaSeconds{set: true, seconds: uint32(n)} }

// ccRow is one input and the expected result. A "\n" in the input separates
// Cache-Control field lines.
type ccRow struct {
	in   string
	want cacheControl
}

// ccGroups are the parser's tests, named after the sections they check. They
// also seed FuzzParseCacheControl.
var ccGroups = []struct {
	name    string
	request bool
	rows    []ccRow
}{
	{name: "5.2 no directives is the zero value", rows: []ccRow{
		{"", cacheControl{}},
		{" ", cacheControl{}},
		{" ,\t, ,,", cacheControl{}},
		{"\n", cacheControl{}},
	}},
	{name: "5.2.2.1 max-age", rows: []ccRow{
		{"max-age=60", cacheControl{maxAge: ds(60)}},
		{"max-age=0", cacheControl{maxAge: ds(0)}},
		{"max-age=007", cacheControl{maxAge: ds(7)}},
		{" ,max-age=60 ,, ", cacheControl{maxAge: ds(60)}},
		{"public max-age=60", cacheControl{public: true, maxAge: ds(60)}},
	}},
	{name: "5.2.2.10 s-maxage", rows: []ccRow{
		{"s-maxage=30, max-age=60", cacheControl{sMaxAge: ds(30), maxAge: ds(60)}},
		{"s-maxage=abc", cacheControl{sMaxAge: ds(0)}},
		{"s-maxage", cacheControl{sMaxAge: ds(0)}},
	}},
	{name: "5.2 directive names are case-insensitive", rows: []ccRow{
		{"NO-CACHE", cacheControl{noCache: true}},
		{"Max-Age=5", cacheControl{maxAge: ds(5)}},
		{"No-Store, PRIVATE, Must-Revalidate", cacheControl{noStore: true, private: true, mustRevalidate: true}},
		{"S-MAXAGE=3, Stale-While-Revalidate=4", cacheControl{sMaxAge: ds(3), staleWhileRevalidate: ds(4)}},
		{`NO-CACHE="set-cookie"`, cacheControl{noCacheFields: []string{"Set-Cookie"}}},
		{"MAX-AGE=abc", cacheControl{maxAge: ds(0)}},
	}},
	{name: "5.2 arguments may be token or quoted-string", rows: []ccRow{
		{`max-age="60"`, cacheControl{maxAge: ds(60)}},
		{`s-maxage="7"`, cacheControl{sMaxAge: ds(7)}},
		{`stale-if-error="9"`, cacheControl{staleIfError: ds(9)}},
		{"no-cache=set-cookie", cacheControl{noCacheFields: []string{"Set-Cookie"}}},
		{`private="x-a"`, cacheControl{privateFields: []string{"X-A"}}},
	}},
	{name: "5.2 quoted string is not a directive", rows: []ccRow{
		{`foo="max-age=3600"`, cacheControl{}},
		{`foo="no-store", max-age=5`, cacheControl{maxAge: ds(5)}},
		{`foo="a, no-store, b"`, cacheControl{}},
		{`foo="a\", no-store"`, cacheControl{}},
		{`foo="a\\", no-store`, cacheControl{noStore: true}},
		{`no-cache="a, b"`, cacheControl{noCacheFields: []string{"A", "B"}}},
	}},
	{name: "5.2 several field lines are combined", rows: []ccRow{
		{"max-age=60\nno-store", cacheControl{maxAge: ds(60), noStore: true}},
		{"public\n\nmax-age=5, max-age=3", cacheControl{public: true, maxAge: ds(3)}},
		{"no-cache=\"a\nno-cache=\"b\"", cacheControl{noCache: true}},
		// Lines are parsed one by one: an unterminated quoted string ends
		// with its line.
		{"private=\"a, no-store\nno-store", cacheControl{private: true, noStore: true}},
	}},
	{name: "4.2.1 invalid max-age means stale", rows: []ccRow{
		{"max-age=abc", cacheControl{maxAge: ds(0)}},
		{"max-age=-1", cacheControl{maxAge: ds(0)}},
		{"max-age=1.5", cacheControl{maxAge: ds(0)}},
		{"max-age=+60", cacheControl{maxAge: ds(0)}},
		{"max-age=", cacheControl{maxAge: ds(0)}},
		{"max-age", cacheControl{maxAge: ds(0)}},
		{`max-age=""`, cacheControl{maxAge: ds(0)}},
		{`max-age="abc"`, cacheControl{maxAge: ds(0)}},
		{`max-age=" 60"`, cacheControl{maxAge: ds(0)}},
		{`max-age="6\0"`, cacheControl{maxAge: ds(0)}},
		{"max-age=60s", cacheControl{maxAge: ds(0)}},
		{"max-age=60;", cacheControl{maxAge: ds(0)}},
		{"max-age=0x10", cacheControl{maxAge: ds(0)}},
		{"max-age=1_000", cacheControl{maxAge: ds(0)}},
		// cacheobject alone would clamp this one to 2^31-1.
		{"max-age=99999999999999999999x", cacheControl{maxAge: ds(0)}},
		{"max-age =60", cacheControl{maxAge: ds(0)}},
	}},
	{name: "1.2.2 huge delta-seconds are taken as 2^31, the one clamp", rows: []ccRow{
		{"max-age=2147483647", cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{"max-age=2147483648", cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{"max-age=4294967296", cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{"max-age=99999999999999999999", cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{`max-age="99999999999999999999"`, cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{"s-maxage=99999999999999999999", cacheControl{sMaxAge: ds(maxDeltaSeconds)}},
		{"stale-if-error=99999999999999999999", cacheControl{staleIfError: ds(maxDeltaSeconds)}},
	}},
	{name: "5.2 duplicate max-age takes the most restrictive", rows: []ccRow{
		{"max-age=60, max-age=10", cacheControl{maxAge: ds(10)}},
		{"max-age=10, max-age=60", cacheControl{maxAge: ds(10)}},
		{"max-age=60, max-age=abc", cacheControl{maxAge: ds(0)}},
		{"max-age=abc, max-age=60", cacheControl{maxAge: ds(0)}},
		{"s-maxage=5, s-maxage=3", cacheControl{sMaxAge: ds(3)}},
		{"stale-while-revalidate=5, stale-while-revalidate=3", cacheControl{staleWhileRevalidate: ds(3)}},
		{"stale-if-error=3, stale-if-error=5", cacheControl{staleIfError: ds(3)}},
		{"no-store, no-store", cacheControl{noStore: true}},
	}},
	{name: "5.2.2.4 no-cache with field names", rows: []ccRow{
		{"no-cache", cacheControl{noCache: true}},
		{`no-cache="Set-Cookie"`, cacheControl{noCacheFields: []string{"Set-Cookie"}}},
		{`no-cache="x-foo, set-cookie"`, cacheControl{noCacheFields: []string{"Set-Cookie", "X-Foo"}}},
		{`no-cache="a", no-cache="b, a"`, cacheControl{noCacheFields: []string{"A", "B"}}},
		{`no-cache, no-cache="a"`, cacheControl{noCache: true}},
		{`no-cache="a", no-cache`, cacheControl{noCache: true}},
		{`no-cache=""`, cacheControl{noCache: true}},
		{`no-cache=" , "`, cacheControl{noCache: true}},
		{`no-cache="a",private="b"`, cacheControl{noCacheFields: []string{"A"}, privateFields: []string{"B"}}},
	}},
	{name: "5.2.2.7 private with field names", rows: []ccRow{
		{"private", cacheControl{private: true}},
		{`private="Authorization"`, cacheControl{privateFields: []string{"Authorization"}}},
		{`private="b, a", private="a"`, cacheControl{privateFields: []string{"A", "B"}}},
		{`private="a", private`, cacheControl{private: true}},
		{`private=""`, cacheControl{private: true}},
	}},
	{name: "5.2.2.3 must-understand", rows: []ccRow{
		{"must-understand, no-store", cacheControl{mustUnderstand: true, noStore: true}},
		{"MUST-UNDERSTAND", cacheControl{mustUnderstand: true}},
		{"must-understand=1", cacheControl{mustUnderstand: true}},
		{"must-understanding", cacheControl{}},
	}},
	{name: "5.2.2 boolean directives", rows: []ccRow{
		{"must-revalidate", cacheControl{mustRevalidate: true}},
		{"proxy-revalidate", cacheControl{proxyRevalidate: true}},
		{"public", cacheControl{public: true}},
		{"no-store", cacheControl{noStore: true}},
		{"no-transform", cacheControl{noTransform: true}},
		{"immutable", cacheControl{immutable: true}},
		// A directive that takes no argument is set even with one.
		{"no-store=1", cacheControl{noStore: true}},
		{`must-revalidate="0"`, cacheControl{mustRevalidate: true}},
		{"public=yes", cacheControl{public: true}},
	}},
	{name: "RFC 5861 stale-while-revalidate and stale-if-error", rows: []ccRow{
		{"stale-while-revalidate=30, stale-if-error=60", cacheControl{staleWhileRevalidate: ds(30), staleIfError: ds(60)}},
		{"stale-while-revalidate=abc, stale-if-error=-1", cacheControl{}},
		{"stale-while-revalidate, stale-if-error", cacheControl{}},
		{"stale-while-revalidate=abc, stale-while-revalidate=5", cacheControl{staleWhileRevalidate: ds(5)}},
	}},
	{name: "5.2.3 unknown directives are ignored", rows: []ccRow{
		{"foo", cacheControl{}},
		{"foo, max-age=5", cacheControl{maxAge: ds(5)}},
		{"foo=bar, no-store", cacheControl{noStore: true}},
		{`foo="a,b", public`, cacheControl{public: true}},
		{"max-ages=5, no-stores", cacheControl{}},
		// Request directives mean nothing in a response.
		{"only-if-cached, min-fresh=5, max-stale, max-stale=3", cacheControl{}},
	}},
	{name: "a malformed element does not hide no-store", rows: []ccRow{
		{"max-age=abc, no-store", cacheControl{maxAge: ds(0), noStore: true}},
		{"max-age=5;x, no-store", cacheControl{maxAge: ds(0), noStore: true}},
		{"foo;bar, no-store", cacheControl{noStore: true}},
		{"=5, no-store", cacheControl{noStore: true}},
		{`"quoted", no-store`, cacheControl{noStore: true}},
		{`foo"a, b", no-store`, cacheControl{noStore: true}},
		{"föö, no-store", cacheControl{noStore: true}},
		{"no-cache=, no-store", cacheControl{noCache: true, noStore: true}},
		// The malformed element keeps its name: "no-store;" is no-store.
		{"no-store;", cacheControl{noStore: true}},
		// An unterminated quoted string runs to the end of the line, so
		// nothing after it is a directive; the no-cache it belongs to is read
		// as bare no-cache.
		{`no-cache="unterminated, no-store`, cacheControl{noCache: true}},
		{`foo="unterminated, no-store`, cacheControl{}},
		{`max-age=5, foo"bar, no-store`, cacheControl{maxAge: ds(5)}},
		{`private="a\`, cacheControl{private: true}},
	}},
	{name: "no-cache=foo,max-age=5 keeps max-age", rows: []ccRow{
		{"no-cache=foo,max-age=5", cacheControl{noCacheFields: []string{"Foo"}, maxAge: ds(5)}},
		{"private=foo,max-age=5", cacheControl{privateFields: []string{"Foo"}, maxAge: ds(5)}},
	}},

	{name: "5.2.1.1 max-age", request: true, rows: []ccRow{
		{"max-age=5", cacheControl{maxAge: ds(5)}},
		{"max-age=0", cacheControl{maxAge: ds(0)}},
		{"max-age=abc", cacheControl{maxAge: ds(0)}},
		{"max-age", cacheControl{maxAge: ds(0)}},
		{"max-age=9, max-age=4", cacheControl{maxAge: ds(4)}},
	}},
	{name: "5.2.1.2 max-stale without value", request: true, rows: []ccRow{
		{"max-stale", cacheControl{maxStaleAny: true}},
		{"MAX-STALE", cacheControl{maxStaleAny: true}},
		{"max-stale=10", cacheControl{maxStale: ds(10)}},
		{`max-stale="10"`, cacheControl{maxStale: ds(10)}},
		{"max-stale, max-stale=10", cacheControl{maxStale: ds(10)}},
		{"max-stale=10, max-stale", cacheControl{maxStale: ds(10)}},
		{"max-stale=20, max-stale=10", cacheControl{maxStale: ds(10)}},
		{"max-stale=abc", cacheControl{}},
		{"max-stale=", cacheControl{}},
		{"max-stale=-1, max-stale", cacheControl{maxStaleAny: true}},
	}},
	{name: "5.2.1.3 min-fresh", request: true, rows: []ccRow{
		{"min-fresh=5", cacheControl{minFresh: ds(5)}},
		{"min-fresh=5, min-fresh=9", cacheControl{minFresh: ds(9)}},
		{"min-fresh=abc", cacheControl{}},
		{"min-fresh", cacheControl{}},
		{"min-fresh=abc, min-fresh=3", cacheControl{minFresh: ds(3)}},
	}},
	{name: "5.2.1 boolean request directives", request: true, rows: []ccRow{
		{"no-cache", cacheControl{noCache: true}},
		{`no-cache="x"`, cacheControl{noCache: true}},
		{"no-store", cacheControl{noStore: true}},
		{"no-transform", cacheControl{noTransform: true}},
		{"only-if-cached", cacheControl{onlyIfCached: true}},
		{"Only-If-Cached=1", cacheControl{onlyIfCached: true}},
	}},
	{name: "RFC 5861 stale-if-error in requests", request: true, rows: []ccRow{
		{"stale-if-error=30", cacheControl{staleIfError: ds(30)}},
		{"stale-if-error=abc", cacheControl{}},
	}},
	{name: "5.2.3 response directives are ignored in requests", request: true, rows: []ccRow{
		{"public, private, s-maxage=5, must-revalidate, proxy-revalidate, immutable, must-understand, stale-while-revalidate=5", cacheControl{}},
		{`private="a", no-store`, cacheControl{noStore: true}},
	}},
	{name: "5.2 request parsing shares the splitter", request: true, rows: []ccRow{
		{`foo="no-store", min-fresh=1`, cacheControl{minFresh: ds(1)}},
		{"max-age=abc, no-store", cacheControl{maxAge: ds(0), noStore: true}},
		{"max-stale=5\nmax-stale", cacheControl{maxStale: ds(5)}},
	}},
}

// parseLines parses in, whose lines are Cache-Control field lines.
func parseLines(request bool, in string) cacheControl {
	h := http.Header{"Cache-Control": strings.Split(in, "\n")}
	if request {
		return parseRequestCacheControl(h)
	}
	return parseResponseCacheControl(h)
}

func TestParseCacheControl(t *testing.T) {
	for _, g := range ccGroups {
		t.Run(g.name, func(t *testing.T) {
			for _, r := range g.rows {
				t.Run(r.in, func(t *testing.T) {
					assert.Equal(t, r.want, parseLines(g.request, r.in))
				})
			}
		})
	}
}

func TestParseCacheControlWithoutField(t *testing.T) {
	for _, h := range []http.Header{nil, {}, {"Expires": {"0"}}, {"Cache-Control": nil}} {
		assert.Equal(t, cacheControl{}, parseResponseCacheControl(h))
		assert.Equal(t, cacheControl{}, parseRequestCacheControl(h))
		allocs := testing.AllocsPerRun(100, func() {
			parseResponseCacheControl(h)
			parseRequestCacheControl(h)
		})
		assert.Zero(t, allocs)
	}
}

func TestParseCacheControlReadsEveryLine(t *testing.T) {
	// http.Header.Get would only see the first line (RFC 9110 Section 5.3).
	h := http.Header{}
	h.Add("Cache-Control", "max-age=60")
	h.Add("Cache-Control", "no-store")
	assert.True(t, parseResponseCacheControl(h).noStore)
	assert.True(t, parseRequestCacheControl(h).noStore)
}

// inQuotedString reports whether s ends inside a quoted string, the way
// nextDirective reads it: every '"' outside a quoted string opens one.
func inQuotedString(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case in && s[i] == '\\':
			i++
		case s[i] == '"':
			in = !in
		}
	}
	return in
}

func FuzzParseCacheControl(f *testing.F) {
	for _, g := range ccGroups {
		for _, r := range g.rows {
			f.Add(r.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, request := range []bool{false, true} {
			cc := parseLines(request, in)
			for _, d := range []deltaSeconds{cc.maxAge, cc.sMaxAge, cc.minFresh, cc.maxStale, cc.staleWhileRevalidate, cc.staleIfError} {
				require.GreaterOrEqual(t, int64(d.seconds), int64(0))
				require.LessOrEqual(t, int64(d.seconds), int64(1)<<31)
				if !d.set {
					require.Zero(t, d.seconds)
				}
			}
			require.False(t, cc.maxStaleAny && cc.maxStale.set)
			for _, f := range []struct {
				bare   bool
				fields []string
			}{{cc.noCache, cc.noCacheFields}, {cc.private, cc.privateFields}} {
				require.False(t, f.bare && f.fields != nil)
				require.True(t, f.fields == nil || len(f.fields) > 0)
				require.True(t, slices.IsSorted(f.fields))
				require.Equal(t, len(f.fields), len(slices.Compact(slices.Clone(f.fields))))
			}
			if request {
				require.Nil(t, cc.noCacheFields)
				require.Nil(t, cc.privateFields)
			}
			require.Equal(t, cc, parseLines(request, in))

			lines := strings.Split(in, "\n")
			if !inQuotedString(lines[len(lines)-1]) {
				require.True(t, parseLines(request, in+", no-store").noStore)
			}
		}
	})
}

// targetedRow is one targeted field and the directives parseTargetedField
// reads from it. A "\n" in the input separates field lines. ignored says the
// field must be ignored (ok false); want is then unused.
type targetedRow struct {
	in      string
	want    cacheControl
	ignored bool
}

// targetedGroups are the tests of parseTargetedField, named after the
// sections they check. They also seed FuzzParseDictionary and
// FuzzParseTargetedField.
var targetedGroups = []struct {
	name string
	rows []targetedRow
}{
	{name: "9213/2.1 a Dictionary of cache directives", rows: []targetedRow{
		{in: "max-age=60", want: cacheControl{maxAge: ds(60)}},
		{in: "s-maxage=30, max-age=60, stale-while-revalidate=5, stale-if-error=7",
			want: cacheControl{sMaxAge: ds(30), maxAge: ds(60), staleWhileRevalidate: ds(5), staleIfError: ds(7)}},
		{in: "max-age=0", want: cacheControl{maxAge: ds(0)}},
		{in: "max-age=007", want: cacheControl{maxAge: ds(7)}},
		{in: "max-age=999999999999999", want: cacheControl{maxAge: ds(maxDeltaSeconds)}},
		{in: "no-store, must-revalidate, proxy-revalidate, public, immutable, must-understand, no-transform",
			want: cacheControl{noStore: true, mustRevalidate: true, proxyRevalidate: true, public: true, immutable: true, mustUnderstand: true, noTransform: true}},
		{in: "  max-age=60 ,\tpublic  ", want: cacheControl{maxAge: ds(60), public: true}},
		{in: "max-age=60\nno-store", want: cacheControl{maxAge: ds(60), noStore: true}},
	}},
	{name: "9213/2.1 Booleans: the bare key is true, ?0 leaves the directive out", rows: []targetedRow{
		{in: "no-store=?1", want: cacheControl{noStore: true}},
		{in: "no-store=?0, max-age=60", want: cacheControl{maxAge: ds(60)}},
		{in: "private=?0, no-cache=?0, public=?0", want: cacheControl{}},
		{in: "no-cache", want: cacheControl{noCache: true}},
		{in: "private", want: cacheControl{private: true}},
	}},
	{name: "9213/2.1 no-cache and private take a Boolean or a String of field names", rows: []targetedRow{
		{in: `no-cache="set-cookie"`, want: cacheControl{noCacheFields: []string{"Set-Cookie"}}},
		{in: `private="x-b, X-A,,x-b"`, want: cacheControl{privateFields: []string{"X-A", "X-B"}}},
		{in: `no-cache=""`, want: cacheControl{noCache: true}},
		{in: `private=" , "`, want: cacheControl{private: true}},
		{in: `no-cache=x-a`, ignored: true},
		{in: `private=("x-a")`, ignored: true},
		{in: `no-cache="x a"`, ignored: true},
		{in: `no-cache="x;a"`, ignored: true},
		{in: `no-cache=1`, ignored: true},
	}},
	{name: "9213/2.1 a directive of the wrong type makes the field ignored", rows: []targetedRow{
		{in: `max-age="10"`, ignored: true},
		{in: "max-age=1.5", ignored: true},
		{in: "max-age=-1", ignored: true},
		{in: "max-age", ignored: true},
		{in: "max-age=?0", ignored: true},
		{in: "max-age=(60)", ignored: true},
		{in: "s-maxage=ten", ignored: true},
		{in: "stale-while-revalidate=:AA==:", ignored: true},
		{in: `stale-if-error="1"`, ignored: true},
		{in: "no-store=3", ignored: true},
		{in: "public=yes", ignored: true},
		{in: `must-revalidate="?1"`, ignored: true},
		{in: "immutable=()", ignored: true},
		{in: "max-age=60, no-transform=0", ignored: true},
	}},
	{name: "9213/2.1 an empty field or one that fails to parse is ignored", rows: []targetedRow{
		{in: "", ignored: true},
		{in: "   ", ignored: true},
		{in: "max-age=10,,", ignored: true},
		{in: "max-age=010a", ignored: true},
		{in: `"x"`, ignored: true},
		{in: "max-age=9999999999999999", ignored: true},
		{in: "Max-Age=60", ignored: true},
		{in: "max-age = 60", ignored: true},
		{in: "max-age=60,", ignored: true},
		{in: "max-age=60, no-store=?1;", ignored: true},
		{in: `no-cache="a\b"`, ignored: true},
		{in: "max-age=60\n", ignored: true},
	}},
	{name: "9213/2.1 unknown members and parameters are ignored", rows: []targetedRow{
		{in: "none", want: cacheControl{}},
		{in: `max-age=60, foo=(1 "x"), bar=:AA==:, min-fresh="x", max-stale, only-if-cached=?0`, want: cacheControl{maxAge: ds(60)}},
		{in: "max-age=60;foo=bar, no-store=?0;x, public;q=1.5", want: cacheControl{maxAge: ds(60), public: true}},
		{in: `no-cache="x-a";q=1`, want: cacheControl{noCacheFields: []string{"X-A"}}},
	}},
	{name: "8941/3.2 a repeated key takes its last value", rows: []targetedRow{
		{in: "max-age=10, max-age=60", want: cacheControl{maxAge: ds(60)}},
		{in: "max-age=60\nmax-age=10", want: cacheControl{maxAge: ds(10)}},
		{in: "no-store, no-store=?0", want: cacheControl{}},
		{in: `no-cache="x-a", no-cache`, want: cacheControl{noCache: true}},
		{in: `max-age="1", max-age=60`, want: cacheControl{maxAge: ds(60)}},
		{in: `max-age=60, max-age="1"`, ignored: true},
	}},
}

// parseTargetedLines parses in, whose lines are My-Cache-Control field lines.
func parseTargetedLines(in string) (cacheControl, bool) {
	return parseTargetedField(http.Header{"My-Cache-Control": strings.Split(in, "\n")}, "My-Cache-Control")
}

func TestRFC9213_2_1_TargetedFieldSyntax(t *testing.T) {
	t.Parallel()
	for _, g := range targetedGroups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range g.rows {
				got, ok := parseTargetedLines(r.in)
				if r.ignored {
					assert.False(t, ok, "parseTargetedField(%q) obeyed a field RFC 9213 says to ignore: %+v", r.in, got)
					assert.Equal(t, cacheControl{}, got, "parseTargetedField(%q) ignored the field but returned directives", r.in)
					continue
				}
				want := r.want
				want.targeted = true
				if assert.True(t, ok, "parseTargetedField(%q) ignored a valid field", r.in) {
					assert.Equal(t, want, got, "parseTargetedField(%q)", r.in)
				}
			}
		})
	}
}

func TestRFC9213_2_1_AbsentTargetedField(t *testing.T) {
	t.Parallel()
	for _, h := range []http.Header{nil, {}, {"My-Cache-Control": nil}, {"Cache-Control": {"max-age=60"}}} {
		cc, ok := parseTargetedField(h, "My-Cache-Control")
		assert.False(t, ok, "parseTargetedField(%v): a field that is not there is not obeyed", h)
		assert.Equal(t, cacheControl{}, cc)
	}
}

// TestRFC9213_2_2_TargetList checks that the first field of the target list
// with a valid, non-empty value wins, and that there is none when every
// field is missing, empty or invalid.
func TestRFC9213_2_2_TargetList(t *testing.T) {
	t.Parallel()
	targets := []string{"My-Cache-Control", "Cdn-Cache-Control"}
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int64 // the max-age obeyed; -1 for none
	}{
		{"the first field wins", hdr("My-Cache-Control", "max-age=1", "Cdn-Cache-Control", "max-age=2", "Cache-Control", "max-age=3"), 1},
		{"a missing first field falls to the second", hdr("Cdn-Cache-Control", "max-age=2", "Cache-Control", "max-age=3"), 2},
		{"an invalid first field falls to the second", hdr("My-Cache-Control", "max-age=1,", "Cdn-Cache-Control", "max-age=2"), 2},
		{"a first field of the wrong type falls to the second", hdr("My-Cache-Control", `max-age="1"`, "Cdn-Cache-Control", "max-age=2"), 2},
		{"an empty first field falls to the second", hdr("My-Cache-Control", "", "Cdn-Cache-Control", "max-age=2"), 2},
		{"no valid field: Cache-Control", hdr("My-Cache-Control", "max-age=1,", "Cdn-Cache-Control", "", "Cache-Control", "max-age=3"), -1},
		{"no field at all", hdr("Cache-Control", "max-age=3"), -1},
	} {
		cc, ok := targetedDirectives(tc.header, targets)
		if tc.want < 0 {
			assert.False(t, ok, "%s: a targeted field was obeyed", tc.name)
			continue
		}
		if assert.True(t, ok, "%s: no targeted field was obeyed", tc.name) {
			assert.Equal(t, ds(tc.want), cc.maxAge, "%s: max-age", tc.name)
			assert.True(t, cc.targeted, "%s: the directives are marked as from a targeted field", tc.name)
		}
	}
}

// targetedCase is a response with targeted fields, stored by one request and
// asked for again after a while.
type targetedCase struct {
	name   string
	opts   []Option      // the Cache's; CDN-Cache-Control needs WithShared
	header http.Header   // the origin's fields
	after  time.Duration // between the two requests; 30s if 0
	hit    bool          // want the second request answered from the cache
	check  func(t *testing.T, resp *http.Response)
}

// runTargetedCases runs each case against its own origin, which counts the
// requests it answers.
func runTargetedCases(t *testing.T, cases []targetedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				maps.Copy(w.Header(), tc.header)
				io.WriteString(w, "body")
			})
			tr := newTestTransport(clock, tc.opts...)
			fetch(t, tr, "GET", o.URL, nil)
			after := cmp.Or(tc.after, 30*time.Second)
			clock.Advance(after)
			resp, body := fetch(t, tr, "GET", o.URL, nil)
			assert.Equal(t, "body", body)
			assert.Equal(t, tc.hit, isHit(resp), "served from the cache %v later; Cache-Status %q", after, resp.Header["Cache-Status"])
			wantOrigin := 2
			if tc.hit {
				wantOrigin = 1
			}
			assert.EqualValues(t, wantOrigin, o.hits.Load(), "requests that reached the origin")
			if tc.check != nil {
				tc.check(t, resp)
			}
		})
	}
}

// TestRFC9213_2_1_TargetedFieldsAgainstAnOrigin checks, through a Transport,
// which of CDN-Cache-Control (or a field of WithTargetedField) and
// Cache-Control a cache obeys.
func TestRFC9213_2_1_TargetedFieldsAgainstAnOrigin(t *testing.T) {
	t.Parallel()
	shared := []Option{WithShared()}
	cdn := func(cdnCC, cc string) http.Header { return hdr("CDN-Cache-Control", cdnCC, "Cache-Control", cc) }
	runTargetedCases(t, []targetedCase{
		// A valid Dictionary is obeyed over Cache-Control.
		{name: "valid: max-age over no-store", opts: shared, header: cdn("max-age=60", "no-store"), hit: true},
		{name: "valid: max-age=60 over max-age=600, stale after 90s", opts: shared, header: cdn("max-age=60", "max-age=600"), after: 90 * time.Second},
		{name: "valid: s-maxage in a shared cache", opts: shared, header: cdn("s-maxage=60", "no-store"), hit: true},
		{name: "valid: spaces around the value and the members", opts: shared, header: cdn("  max-age=60 ,\tpublic  ", "no-store"), hit: true},
		{name: "valid: unknown members and parameters ignored", opts: shared, header: cdn(`max-age=60;x=1, foo=("a" b), none`, "no-store"), hit: true},
		{name: "valid: an unknown member alone (RFC 9213 Section 3's none)", opts: shared, header: cdn("none", "max-age=60"), after: 90 * time.Second},

		// A field that fails to parse, or is empty, is ignored: Cache-Control wins.
		{name: "invalid: a trailing empty member", opts: shared, header: cdn("max-age=10,,", "max-age=60"), hit: true},
		{name: "invalid: a trailing comma", opts: shared, header: cdn("no-store,", "max-age=60"), hit: true},
		{name: "invalid: an integer followed by a letter", opts: shared, header: cdn("max-age=010a", "max-age=60"), hit: true},
		{name: "invalid: a String is not a Dictionary", opts: shared, header: cdn(`"x"`, "max-age=60"), hit: true},
		{name: "invalid: an integer of 16 digits", opts: shared, header: cdn("max-age=9999999999999999", "max-age=60"), after: 90 * time.Second},
		{name: "invalid: keys are lowercase", opts: shared, header: cdn("Max-Age=10", "max-age=60"), hit: true},
		{name: "invalid: no space before =", opts: shared, header: cdn("max-age =10", "max-age=60"), hit: true},
		{name: "invalid: a string with a bad escape", opts: shared, header: cdn(`max-age=10, no-cache="\x"`, "max-age=60"), hit: true},
		{name: "empty: ignored", opts: shared, header: cdn("", "max-age=60"), hit: true},

		// A directive of the wrong type makes the whole field ignored.
		{name: "wrong type: max-age as a String", opts: shared, header: cdn(`max-age="10"`, "max-age=60"), hit: true},
		{name: "wrong type: max-age as a Decimal", opts: shared, header: cdn("max-age=1.5", "max-age=60"), hit: true},
		{name: "wrong type: a negative max-age", opts: shared, header: cdn("max-age=-1", "max-age=60"), hit: true},
		{name: "wrong type: no-store as an Integer", opts: shared, header: cdn("no-store=3", "max-age=60"), hit: true},
		{name: "wrong type: no-cache as a Token", opts: shared, header: cdn("max-age=60, no-cache=x-a", "no-store"), check: func(t *testing.T, resp *http.Response) {
			assert.NotContains(t, resp.Header.Get("Cache-Status"), "stored", "Cache-Control's no-store, obeyed in place of the ignored field")
		}},
		{name: "wrong type: a valid directive beside it is not obeyed either", opts: shared, header: cdn("max-age=60, private=1", "no-store")},

		// Booleans.
		{name: "boolean: bare no-store", opts: shared, header: cdn("max-age=60, no-store", "max-age=60")},
		{name: "boolean: no-store=?1", opts: shared, header: cdn("max-age=60, no-store=?1", "max-age=60")},
		{name: "boolean: no-store=?0 is no no-store", opts: shared, header: cdn("max-age=60, no-store=?0", "no-store"), hit: true},
		{name: "boolean: private keeps a response out of a shared cache", opts: shared, header: cdn("max-age=60, private", "max-age=60")},
		{name: "boolean: no-cache makes it revalidate", opts: shared, header: cdn("max-age=60, no-cache", "max-age=60")},
		{name: "string: no-cache with field names withholds them", opts: shared,
			header: hdr("CDN-Cache-Control", `max-age=60, no-cache="x-token"`, "Cache-Control", "no-store", "X-Token", "t1"), hit: true,
			check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Get("X-Token"), "a field no-cache names is not served from the cache")
			}},
		{name: `string: no-cache="" is no-cache`, opts: shared, header: cdn(`max-age=60, no-cache=""`, "max-age=60")},

		// A repeated key takes its last value, in a line or across lines.
		{name: "repeated: the last max-age wins", opts: shared, header: cdn("max-age=10, max-age=60", "no-store"), hit: true},
		{name: "repeated: not the most restrictive", opts: shared, header: cdn("max-age=60, max-age=10", "max-age=60")},
		{name: "repeated: across field lines", opts: shared,
			header: http.Header{"Cdn-Cache-Control": {"max-age=10", "max-age=60"}, "Cache-Control": {"no-store"}}, hit: true},
		{name: "repeated: a later valid value does not save an earlier wrong type", opts: shared, header: cdn(`max-age=60, max-age="60"`, "no-store")},

		// The target list: an ignored field falls to the next one (Section 2.2).
		{name: "target list: an invalid first field falls to CDN-Cache-Control", opts: []Option{WithShared(), WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60,", "CDN-Cache-Control", "max-age=60", "Cache-Control", "no-store"), hit: true},
		{name: "target list: a first field of the wrong type falls to CDN-Cache-Control", opts: []Option{WithShared(), WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "no-store=1", "CDN-Cache-Control", "max-age=10", "Cache-Control", "max-age=60")},
		{name: "target list: Expires is ignored with Cache-Control", opts: shared,
			header: hdr("CDN-Cache-Control", "public", "Cache-Control", "max-age=60", "Expires", at(time.Hour))},

		// A field of WithTargetedField, in a private cache.
		{name: "WithTargetedField: valid, obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60", "Cache-Control", "no-store"), hit: true},
		{name: "WithTargetedField: invalid, Cache-Control obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60,", "Cache-Control", "no-store")},
		{name: "WithTargetedField: wrong type, Cache-Control obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "no-store=1", "Cache-Control", "max-age=60"), hit: true},
		{name: "WithTargetedField: a private cache ignores CDN-Cache-Control", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("CDN-Cache-Control", "max-age=60", "Cache-Control", "no-store")},
	})
}

// FuzzParseTargetedField checks that parseTargetedField never panics, and
// that what it obeys is within the bounds the rest of the cache relies on.
func FuzzParseTargetedField(f *testing.F) {
	for _, g := range targetedGroups {
		for _, r := range g.rows {
			f.Add(r.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		cc, ok := parseTargetedLines(in)
		if !ok {
			require.Equal(t, cacheControl{}, cc)
			return
		}
		require.True(t, cc.targeted)
		_, valid := parseDictionaryText(in)
		require.True(t, valid, "a field that is not a Dictionary was obeyed")
		for _, d := range []deltaSeconds{cc.maxAge, cc.sMaxAge, cc.staleWhileRevalidate, cc.staleIfError} {
			require.GreaterOrEqual(t, int64(d.seconds), int64(0))
			require.LessOrEqual(t, int64(d.seconds), int64(maxDeltaSeconds))
		}
		for _, f := range []struct {
			bare   bool
			fields []string
		}{{cc.noCache, cc.noCacheFields}, {cc.private, cc.privateFields}} {
			require.False(t, f.bare && f.fields != nil)
			require.True(t, slices.IsSorted(f.fields))
			for _, name := range f.fields {
				require.True(t, validToken(name) && canonicalName(name), "field name %q", name)
			}
		}
	})
}
