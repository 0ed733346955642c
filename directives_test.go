package acache

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ds returns a delta-seconds value that is set to n.
func ds(n int64) deltaSeconds { return deltaSeconds{set: true, seconds: n} }

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
				require.GreaterOrEqual(t, d.seconds, int64(0))
				require.LessOrEqual(t, d.seconds, int64(1)<<31)
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
