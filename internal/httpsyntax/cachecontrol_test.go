package httpsyntax

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ds returns a delta-seconds value that is set to n.
func ds(n int64) DeltaSeconds {
	return DeltaSeconds{Set: true, Seconds: uint32(n)}
}

// ccRow is one input and the expected result. A "\n" in the input separates
// Cache-Control field lines.
type ccRow struct {
	in   string
	want CacheControl
}

// ccGroups are the parser's tests, named after the sections they check. They
// also seed FuzzParseCacheControl.
var ccGroups = []struct {
	name    string
	request bool
	rows    []ccRow
}{
	{name: "5.2 no directives is the zero value", rows: []ccRow{
		{"", CacheControl{}},
		{" ", CacheControl{}},
		{" ,\t, ,,", CacheControl{}},
		{"\n", CacheControl{}},
	}},
	{name: "5.2.2.1 max-age", rows: []ccRow{
		{"max-age=60", CacheControl{MaxAge: ds(60)}},
		{"max-age=0", CacheControl{MaxAge: ds(0)}},
		{"max-age=007", CacheControl{MaxAge: ds(7)}},
		{" ,max-age=60 ,, ", CacheControl{MaxAge: ds(60)}},
		{"public max-age=60", CacheControl{Public: true, MaxAge: ds(60)}},
	}},
	{name: "5.2.2.10 s-maxage", rows: []ccRow{
		{"s-maxage=30, max-age=60", CacheControl{SMaxAge: ds(30), MaxAge: ds(60)}},
		{"s-maxage=abc", CacheControl{SMaxAge: ds(0)}},
		{"s-maxage", CacheControl{SMaxAge: ds(0)}},
	}},
	{name: "5.2 directive names are case-insensitive", rows: []ccRow{
		{"NO-CACHE", CacheControl{NoCache: true}},
		{"Max-Age=5", CacheControl{MaxAge: ds(5)}},
		{"No-Store, PRIVATE, Must-Revalidate", CacheControl{NoStore: true, Private: true, MustRevalidate: true}},
		{"S-MAXAGE=3, Stale-While-Revalidate=4", CacheControl{SMaxAge: ds(3), StaleWhileRevalidate: ds(4)}},
		{`NO-CACHE="set-cookie"`, CacheControl{NoCacheFields: []string{"Set-Cookie"}}},
		{"MAX-AGE=abc", CacheControl{MaxAge: ds(0)}},
	}},
	{name: "5.2 arguments may be token or quoted-string", rows: []ccRow{
		{`max-age="60"`, CacheControl{MaxAge: ds(60)}},
		{`s-maxage="7"`, CacheControl{SMaxAge: ds(7)}},
		{`stale-if-error="9"`, CacheControl{StaleIfError: ds(9)}},
		{"no-cache=set-cookie", CacheControl{NoCacheFields: []string{"Set-Cookie"}}},
		{`private="x-a"`, CacheControl{PrivateFields: []string{"X-A"}}},
	}},
	{name: "5.2 quoted string is not a directive", rows: []ccRow{
		{`foo="max-age=3600"`, CacheControl{}},
		{`foo="no-store", max-age=5`, CacheControl{MaxAge: ds(5)}},
		{`foo="a, no-store, b"`, CacheControl{}},
		{`foo="a\", no-store"`, CacheControl{}},
		{`foo="a\\", no-store`, CacheControl{NoStore: true}},
		{`no-cache="a, b"`, CacheControl{NoCacheFields: []string{"A", "B"}}},
	}},
	{name: "5.2 several field lines are combined", rows: []ccRow{
		{"max-age=60\nno-store", CacheControl{MaxAge: ds(60), NoStore: true}},
		{"public\n\nmax-age=5, max-age=3", CacheControl{Public: true, MaxAge: ds(3)}},
		{"no-cache=\"a\nno-cache=\"b\"", CacheControl{NoCache: true}},
		// Lines are parsed one by one: an unterminated quoted string ends
		// with its line.
		{"private=\"a, no-store\nno-store", CacheControl{Private: true, NoStore: true}},
	}},
	{name: "4.2.1 invalid max-age means stale", rows: []ccRow{
		{"max-age=abc", CacheControl{MaxAge: ds(0)}},
		{"max-age=-1", CacheControl{MaxAge: ds(0)}},
		{"max-age=1.5", CacheControl{MaxAge: ds(0)}},
		{"max-age=+60", CacheControl{MaxAge: ds(0)}},
		{"max-age=", CacheControl{MaxAge: ds(0)}},
		{"max-age", CacheControl{MaxAge: ds(0)}},
		{`max-age=""`, CacheControl{MaxAge: ds(0)}},
		{`max-age="abc"`, CacheControl{MaxAge: ds(0)}},
		{`max-age=" 60"`, CacheControl{MaxAge: ds(0)}},
		{`max-age="6\0"`, CacheControl{MaxAge: ds(0)}},
		{"max-age=60s", CacheControl{MaxAge: ds(0)}},
		{"max-age=60;", CacheControl{MaxAge: ds(0)}},
		{"max-age=0x10", CacheControl{MaxAge: ds(0)}},
		{"max-age=1_000", CacheControl{MaxAge: ds(0)}},
		// cacheobject alone would clamp this one to 2^31-1.
		{"max-age=99999999999999999999x", CacheControl{MaxAge: ds(0)}},
		{"max-age =60", CacheControl{MaxAge: ds(0)}},
	}},
	{name: "1.2.2 huge delta-seconds are taken as 2^31, the one clamp", rows: []ccRow{
		{"max-age=2147483647", CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{"max-age=2147483648", CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{"max-age=4294967296", CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{"max-age=99999999999999999999", CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{`max-age="99999999999999999999"`, CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{"s-maxage=99999999999999999999", CacheControl{SMaxAge: ds(MaxDeltaSeconds)}},
		{"stale-if-error=99999999999999999999", CacheControl{StaleIfError: ds(MaxDeltaSeconds)}},
	}},
	{name: "5.2 duplicate max-age takes the most restrictive", rows: []ccRow{
		{"max-age=60, max-age=10", CacheControl{MaxAge: ds(10)}},
		{"max-age=10, max-age=60", CacheControl{MaxAge: ds(10)}},
		{"max-age=60, max-age=abc", CacheControl{MaxAge: ds(0)}},
		{"max-age=abc, max-age=60", CacheControl{MaxAge: ds(0)}},
		{"s-maxage=5, s-maxage=3", CacheControl{SMaxAge: ds(3)}},
		{"stale-while-revalidate=5, stale-while-revalidate=3", CacheControl{StaleWhileRevalidate: ds(3)}},
		{"stale-if-error=3, stale-if-error=5", CacheControl{StaleIfError: ds(3)}},
		{"no-store, no-store", CacheControl{NoStore: true}},
	}},
	{name: "5.2.2.4 no-cache with field names", rows: []ccRow{
		{"no-cache", CacheControl{NoCache: true}},
		{`no-cache="Set-Cookie"`, CacheControl{NoCacheFields: []string{"Set-Cookie"}}},
		{`no-cache="x-foo, set-cookie"`, CacheControl{NoCacheFields: []string{"Set-Cookie", "X-Foo"}}},
		{`no-cache="a", no-cache="b, a"`, CacheControl{NoCacheFields: []string{"A", "B"}}},
		{`no-cache, no-cache="a"`, CacheControl{NoCache: true}},
		{`no-cache="a", no-cache`, CacheControl{NoCache: true}},
		{`no-cache=""`, CacheControl{NoCache: true}},
		{`no-cache=" , "`, CacheControl{NoCache: true}},
		{`no-cache="a",private="b"`, CacheControl{NoCacheFields: []string{"A"}, PrivateFields: []string{"B"}}},
	}},
	{name: "5.2.2.7 private with field names", rows: []ccRow{
		{"private", CacheControl{Private: true}},
		{`private="Authorization"`, CacheControl{PrivateFields: []string{"Authorization"}}},
		{`private="b, a", private="a"`, CacheControl{PrivateFields: []string{"A", "B"}}},
		{`private="a", private`, CacheControl{Private: true}},
		{`private=""`, CacheControl{Private: true}},
	}},
	{name: "5.2.2.3 must-understand", rows: []ccRow{
		{"must-understand, no-store", CacheControl{MustUnderstand: true, NoStore: true}},
		{"MUST-UNDERSTAND", CacheControl{MustUnderstand: true}},
		{"must-understand=1", CacheControl{MustUnderstand: true}},
		{"must-understanding", CacheControl{}},
	}},
	{name: "5.2.2 boolean directives", rows: []ccRow{
		{"must-revalidate", CacheControl{MustRevalidate: true}},
		{"proxy-revalidate", CacheControl{ProxyRevalidate: true}},
		{"public", CacheControl{Public: true}},
		{"no-store", CacheControl{NoStore: true}},
		{"no-transform", CacheControl{NoTransform: true}},
		{"immutable", CacheControl{Immutable: true}},
		// A directive that takes no argument is set even with one.
		{"no-store=1", CacheControl{NoStore: true}},
		{`must-revalidate="0"`, CacheControl{MustRevalidate: true}},
		{"public=yes", CacheControl{Public: true}},
	}},
	{name: "RFC 5861 stale-while-revalidate and stale-if-error", rows: []ccRow{
		{"stale-while-revalidate=30, stale-if-error=60", CacheControl{StaleWhileRevalidate: ds(30), StaleIfError: ds(60)}},
		{"stale-while-revalidate=abc, stale-if-error=-1", CacheControl{}},
		{"stale-while-revalidate, stale-if-error", CacheControl{}},
		{"stale-while-revalidate=abc, stale-while-revalidate=5", CacheControl{StaleWhileRevalidate: ds(5)}},
	}},
	{name: "5.2.3 unknown directives are ignored", rows: []ccRow{
		{"foo", CacheControl{}},
		{"foo, max-age=5", CacheControl{MaxAge: ds(5)}},
		{"foo=bar, no-store", CacheControl{NoStore: true}},
		{`foo="a,b", public`, CacheControl{Public: true}},
		{"max-ages=5, no-stores", CacheControl{}},
		// Request directives mean nothing in a response.
		{"only-if-cached, min-fresh=5, max-stale, max-stale=3", CacheControl{}},
	}},
	{name: "a malformed element does not hide no-store", rows: []ccRow{
		{"max-age=abc, no-store", CacheControl{MaxAge: ds(0), NoStore: true}},
		{"max-age=5;x, no-store", CacheControl{MaxAge: ds(0), NoStore: true}},
		{"foo;bar, no-store", CacheControl{NoStore: true}},
		{"=5, no-store", CacheControl{NoStore: true}},
		{`"quoted", no-store`, CacheControl{NoStore: true}},
		{`foo"a, b", no-store`, CacheControl{NoStore: true}},
		{"föö, no-store", CacheControl{NoStore: true}},
		{"no-cache=, no-store", CacheControl{NoCache: true, NoStore: true}},
		// The malformed element keeps its name: "no-store;" is no-store.
		{"no-store;", CacheControl{NoStore: true}},
		// An unterminated quoted string runs to the end of the line, so
		// nothing after it is a directive; the no-cache it belongs to is read
		// as bare no-cache.
		{`no-cache="unterminated, no-store`, CacheControl{NoCache: true}},
		{`foo="unterminated, no-store`, CacheControl{}},
		{`max-age=5, foo"bar, no-store`, CacheControl{MaxAge: ds(5)}},
		{`private="a\`, CacheControl{Private: true}},
	}},
	{name: "no-cache=foo,max-age=5 keeps max-age", rows: []ccRow{
		{"no-cache=foo,max-age=5", CacheControl{NoCacheFields: []string{"Foo"}, MaxAge: ds(5)}},
		{"private=foo,max-age=5", CacheControl{PrivateFields: []string{"Foo"}, MaxAge: ds(5)}},
	}},

	{name: "5.2.1.1 max-age", request: true, rows: []ccRow{
		{"max-age=5", CacheControl{MaxAge: ds(5)}},
		{"max-age=0", CacheControl{MaxAge: ds(0)}},
		{"max-age=abc", CacheControl{MaxAge: ds(0)}},
		{"max-age", CacheControl{MaxAge: ds(0)}},
		{"max-age=9, max-age=4", CacheControl{MaxAge: ds(4)}},
	}},
	{name: "5.2.1.2 max-stale without value", request: true, rows: []ccRow{
		{"max-stale", CacheControl{MaxStaleAny: true}},
		{"MAX-STALE", CacheControl{MaxStaleAny: true}},
		{"max-stale=10", CacheControl{MaxStale: ds(10)}},
		{`max-stale="10"`, CacheControl{MaxStale: ds(10)}},
		{"max-stale, max-stale=10", CacheControl{MaxStale: ds(10)}},
		{"max-stale=10, max-stale", CacheControl{MaxStale: ds(10)}},
		{"max-stale=20, max-stale=10", CacheControl{MaxStale: ds(10)}},
		{"max-stale=abc", CacheControl{}},
		{"max-stale=", CacheControl{}},
		{"max-stale=-1, max-stale", CacheControl{MaxStaleAny: true}},
	}},
	{name: "5.2.1.3 min-fresh", request: true, rows: []ccRow{
		{"min-fresh=5", CacheControl{MinFresh: ds(5)}},
		{"min-fresh=5, min-fresh=9", CacheControl{MinFresh: ds(9)}},
		{"min-fresh=abc", CacheControl{}},
		{"min-fresh", CacheControl{}},
		{"min-fresh=abc, min-fresh=3", CacheControl{MinFresh: ds(3)}},
	}},
	{name: "5.2.1 boolean request directives", request: true, rows: []ccRow{
		{"no-cache", CacheControl{NoCache: true}},
		{`no-cache="x"`, CacheControl{NoCache: true}},
		{"no-store", CacheControl{NoStore: true}},
		{"no-transform", CacheControl{NoTransform: true}},
		{"only-if-cached", CacheControl{OnlyIfCached: true}},
		{"Only-If-Cached=1", CacheControl{OnlyIfCached: true}},
	}},
	{name: "RFC 5861 stale-if-error in requests", request: true, rows: []ccRow{
		{"stale-if-error=30", CacheControl{StaleIfError: ds(30)}},
		{"stale-if-error=abc", CacheControl{}},
	}},
	{name: "5.2.3 response directives are ignored in requests", request: true, rows: []ccRow{
		{"public, private, s-maxage=5, must-revalidate, proxy-revalidate, immutable, must-understand, stale-while-revalidate=5", CacheControl{}},
		{`private="a", no-store`, CacheControl{NoStore: true}},
	}},
	{name: "5.2 request parsing shares the splitter", request: true, rows: []ccRow{
		{`foo="no-store", min-fresh=1`, CacheControl{MinFresh: ds(1)}},
		{"max-age=abc, no-store", CacheControl{MaxAge: ds(0), NoStore: true}},
		{"max-stale=5\nmax-stale", CacheControl{MaxStale: ds(5)}},
	}},
}

// parseLines parses in, whose lines are Cache-Control field lines.
func parseLines(request bool, in string) CacheControl {
	h := http.Header{"Cache-Control": strings.Split(in, "\n")}
	if request {
		return ParseRequestCacheControl(h)
	}
	return ParseResponseCacheControl(h)
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
		assert.Equal(t, CacheControl{}, ParseResponseCacheControl(h))
		assert.Equal(t, CacheControl{}, ParseRequestCacheControl(h))
		allocs := testing.AllocsPerRun(100, func() {
			ParseResponseCacheControl(h)
			ParseRequestCacheControl(h)
		})
		assert.Zero(t, allocs)
	}
}

func TestParseCacheControlReadsEveryLine(t *testing.T) {
	// http.Header.Get would only see the first line (RFC 9110 Section 5.3).
	h := http.Header{}
	h.Add("Cache-Control", "max-age=60")
	h.Add("Cache-Control", "no-store")
	assert.True(t, ParseResponseCacheControl(h).NoStore)
	assert.True(t, ParseRequestCacheControl(h).NoStore)
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
			for _, d := range []DeltaSeconds{cc.MaxAge, cc.SMaxAge, cc.MinFresh, cc.MaxStale, cc.StaleWhileRevalidate, cc.StaleIfError} {
				require.GreaterOrEqual(t, int64(d.Seconds), int64(0))
				require.LessOrEqual(t, int64(d.Seconds), int64(1)<<31)
				if !d.Set {
					require.Zero(t, d.Seconds)
				}
			}
			require.False(t, cc.MaxStaleAny && cc.MaxStale.Set)
			for _, f := range []struct {
				bare   bool
				fields []string
			}{{cc.NoCache, cc.NoCacheFields}, {cc.Private, cc.PrivateFields}} {
				require.False(t, f.bare && f.fields != nil)
				require.True(t, f.fields == nil || len(f.fields) > 0)
				require.True(t, slices.IsSorted(f.fields))
				require.Equal(t, len(f.fields), len(slices.Compact(slices.Clone(f.fields))))
			}
			if request {
				require.Nil(t, cc.NoCacheFields)
				require.Nil(t, cc.PrivateFields)
			}
			require.Equal(t, cc, parseLines(request, in))

			lines := strings.Split(in, "\n")
			if !inQuotedString(lines[len(lines)-1]) {
				require.True(t, parseLines(request, in+", no-store").NoStore)
			}
		}
	})
}

// targetedRow is one targeted field and the directives parseTargetedField
// reads from it. A "\n" in the input separates field lines. ignored says the
// field must be ignored (ok false); want is then unused.
type targetedRow struct {
	in      string
	want    CacheControl
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
		{in: "max-age=60", want: CacheControl{MaxAge: ds(60)}},
		{in: "s-maxage=30, max-age=60, stale-while-revalidate=5, stale-if-error=7",
			want: CacheControl{SMaxAge: ds(30), MaxAge: ds(60), StaleWhileRevalidate: ds(5), StaleIfError: ds(7)}},
		{in: "max-age=0", want: CacheControl{MaxAge: ds(0)}},
		{in: "max-age=007", want: CacheControl{MaxAge: ds(7)}},
		{in: "max-age=999999999999999", want: CacheControl{MaxAge: ds(MaxDeltaSeconds)}},
		{in: "no-store, must-revalidate, proxy-revalidate, public, immutable, must-understand, no-transform",
			want: CacheControl{NoStore: true, MustRevalidate: true, ProxyRevalidate: true, Public: true, Immutable: true, MustUnderstand: true, NoTransform: true}},
		{in: "  max-age=60 ,\tpublic  ", want: CacheControl{MaxAge: ds(60), Public: true}},
		{in: "max-age=60\nno-store", want: CacheControl{MaxAge: ds(60), NoStore: true}},
	}},
	{name: "9213/2.1 Booleans: the bare key is true, ?0 leaves the directive out", rows: []targetedRow{
		{in: "no-store=?1", want: CacheControl{NoStore: true}},
		{in: "no-store=?0, max-age=60", want: CacheControl{MaxAge: ds(60)}},
		{in: "private=?0, no-cache=?0, public=?0", want: CacheControl{}},
		{in: "no-cache", want: CacheControl{NoCache: true}},
		{in: "private", want: CacheControl{Private: true}},
	}},
	{name: "9213/2.1 no-cache and private take a Boolean or a String of field names", rows: []targetedRow{
		{in: `no-cache="set-cookie"`, want: CacheControl{NoCacheFields: []string{"Set-Cookie"}}},
		{in: `private="x-b, X-A,,x-b"`, want: CacheControl{PrivateFields: []string{"X-A", "X-B"}}},
		{in: `no-cache=""`, want: CacheControl{NoCache: true}},
		{in: `private=" , "`, want: CacheControl{Private: true}},
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
		{in: "none", want: CacheControl{}},
		{in: `max-age=60, foo=(1 "x"), bar=:AA==:, min-fresh="x", max-stale, only-if-cached=?0`, want: CacheControl{MaxAge: ds(60)}},
		{in: "max-age=60;foo=bar, no-store=?0;x, public;q=1.5", want: CacheControl{MaxAge: ds(60), Public: true}},
		{in: `no-cache="x-a";q=1`, want: CacheControl{NoCacheFields: []string{"X-A"}}},
	}},
	{name: "8941/3.2 a repeated key takes its last value", rows: []targetedRow{
		{in: "max-age=10, max-age=60", want: CacheControl{MaxAge: ds(60)}},
		{in: "max-age=60\nmax-age=10", want: CacheControl{MaxAge: ds(10)}},
		{in: "no-store, no-store=?0", want: CacheControl{}},
		{in: `no-cache="x-a", no-cache`, want: CacheControl{NoCache: true}},
		{in: `max-age="1", max-age=60`, want: CacheControl{MaxAge: ds(60)}},
		{in: `max-age=60, max-age="1"`, ignored: true},
	}},
}

// parseTargetedLines parses in, whose lines are My-Cache-Control field lines.
func parseTargetedLines(in string) (CacheControl, bool) {
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
					assert.Equal(t, CacheControl{}, got, "parseTargetedField(%q) ignored the field but returned directives", r.in)
					continue
				}
				want := r.want
				want.Targeted = true
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
		assert.Equal(t, CacheControl{}, cc)
	}
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
			require.Equal(t, CacheControl{}, cc)
			return
		}
		require.True(t, cc.Targeted)
		_, valid := parseDictionaryText(in)
		require.True(t, valid, "a field that is not a Dictionary was obeyed")
		for _, d := range []DeltaSeconds{cc.MaxAge, cc.SMaxAge, cc.StaleWhileRevalidate, cc.StaleIfError} {
			require.GreaterOrEqual(t, int64(d.Seconds), int64(0))
			require.LessOrEqual(t, int64(d.Seconds), int64(MaxDeltaSeconds))
		}
		for _, f := range []struct {
			bare   bool
			fields []string
		}{{cc.NoCache, cc.NoCacheFields}, {cc.Private, cc.PrivateFields}} {
			require.False(t, f.bare && f.fields != nil)
			require.True(t, slices.IsSorted(f.fields))
			for _, name := range f.fields {
				require.True(t, ValidToken(name) && CanonicalName(name), "field name %q", name)
			}
		}
	})
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
		cc, ok := TargetedDirectives(tc.header, targets)
		if tc.want < 0 {
			assert.False(t, ok, "%s: a targeted field was obeyed", tc.name)
			continue
		}
		if assert.True(t, ok, "%s: no targeted field was obeyed", tc.name) {
			assert.Equal(t, ds(tc.want), cc.MaxAge, "%s: max-age", tc.name)
			assert.True(t, cc.Targeted, "%s: the directives are marked as from a targeted field", tc.name)
		}
	}
}
