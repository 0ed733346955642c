package httpsyntax

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func strongTag(opaque string) ETag { return ETag{Opaque: opaque} }

func weakTag(opaque string) ETag { return ETag{Weak: true, Opaque: opaque} }

type etagCase struct {
	name string
	in   string
	want ETag
	ok   bool
}

var etagCases = []etagCase{
	{name: "8.8.3 weak and strong: strong", in: `"xyzzy"`, want: strongTag(`"xyzzy"`), ok: true},
	{name: "8.8.3 weak and strong: weak", in: `W/"xyzzy"`, want: weakTag(`"xyzzy"`), ok: true},
	{name: "8.8.3 weak and strong: empty strong", in: `""`, want: strongTag(`""`), ok: true},
	{name: "8.8.3 weak and strong: empty weak", in: `W/""`, want: weakTag(`""`), ok: true},
	{name: "8.8.3 surrounding OWS trimmed", in: " \t\"xyzzy\"\t ", want: strongTag(`"xyzzy"`), ok: true},
	{name: "8.8.3 comma is an etagc", in: `"a,b"`, want: strongTag(`"a,b"`), ok: true},
	{name: "8.8.3 backslash is an ordinary etagc", in: `"a\"`, want: strongTag(`"a\"`), ok: true},
	{name: "8.8.3 obs-text", in: "\"caf\xe9\xff\x80\"", want: strongTag("\"caf\xe9\xff\x80\""), ok: true},
	{name: "8.8.3 every VCHAR but DQUOTE", in: `"!#$%&'()*+,-./09:;<=>?@AZ[\]^_` + "`az{|}~\"", want: strongTag(`"!#$%&'()*+,-./09:;<=>?@AZ[\]^_` + "`az{|}~\""), ok: true},

	{name: "8.8.3 unquoted read as quoted", in: `124567`, want: strongTag(`"124567"`), ok: true},
	{name: "8.8.3 unquoted weak read as quoted", in: `W/xyzzy`, want: weakTag(`"xyzzy"`), ok: true},
	{name: "8.8.3 unquoted with OWS trimmed", in: " \t124567\t ", want: strongTag(`"124567"`), ok: true},
	{name: "8.8.3 unquoted single character", in: `x`, want: strongTag(`"x"`), ok: true},
	{name: "8.8.3 unquoted lowercase w/ is part of the tag", in: `w/abc`, want: strongTag(`"w/abc"`), ok: true},
	{name: "8.8.3 unquoted single quotes are etagc", in: `'a'`, want: strongTag(`"'a'"`), ok: true},
	{name: "8.8.3 unquoted obs-text", in: "caf\xe9", want: strongTag("\"caf\xe9\""), ok: true},
	{name: "8.8.3 unquoted every etagc but comma", in: `!#$%&'()*+-./09:;<=>?@AZ[\]^_` + "`az{|}~", want: strongTag(`"!#$%&'()*+-./09:;<=>?@AZ[\]^_` + "`az{|}~\""), ok: true},
	{name: "malformed: unquoted with a comma", in: `a,b`},
	{name: "malformed: unquoted with a space", in: `a b`},
	{name: "malformed: unquoted with HTAB", in: "a\tb"},
	{name: "malformed: unquoted with DEL", in: "a\x7f"},
	{name: "malformed: unquoted with NUL", in: "a\x00"},
	{name: "malformed: unquoted with a quote at the end", in: `a"`},
	{name: "malformed: unquoted weak with a space", in: `W/a b`},
	{name: "malformed: weak star", in: `W/*`},
	{name: "malformed: unterminated", in: `"unterminated`},
	{name: "malformed: internal quote", in: `"a"b"`},
	{name: "malformed: lowercase w/ is not weak", in: `w/"lower"`},
	{name: "malformed: empty"},
	{name: "malformed: only OWS", in: " \t "},
	{name: "malformed: lone quote", in: `"`},
	{name: "malformed: W/ alone", in: `W/`},
	{name: "malformed: W/ and a lone quote", in: `W/"`},
	{name: "malformed: space after W/", in: `W/ "x"`},
	{name: "malformed: double W/", in: `W/W/"x"`},
	{name: "malformed: space inside", in: `"a b"`},
	{name: "malformed: HTAB inside", in: "\"a\tb\""},
	{name: "malformed: DEL inside", in: "\"a\x7f\""},
	{name: "malformed: NUL inside", in: "\"a\x00\""},
	{name: "malformed: CR LF inside", in: "\"a\r\n\""},
	{name: "malformed: star", in: `*`},
	{name: "malformed: a list", in: `"a", "b"`},
	{name: "malformed: trailing garbage", in: `"a"x`},
	{name: "malformed: leading garbage", in: `x"a"`},
}

func TestRFC9110_8_8_3_ETag(t *testing.T) {
	for _, tc := range etagCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseETag(tc.in)
			require.Equal(t, tc.ok, ok, "parseETag(%q)", tc.in)
			assert.Equal(t, tc.want, got, "parseETag(%q)", tc.in)
		})
	}
}

func TestRFC9110_8_8_3_2_ETagComparison(t *testing.T) {
	// The example table of RFC 9110 Section 8.8.3.2, plus a few more.
	tests := []struct {
		name         string
		a, b         ETag
		strong, weak bool
	}{
		{name: "8.8.3.2 weak comparison: W/1 W/1", a: weakTag(`"1"`), b: weakTag(`"1"`), strong: false, weak: true},
		{name: "8.8.3.2 weak comparison: W/1 W/2", a: weakTag(`"1"`), b: weakTag(`"2"`), strong: false, weak: false},
		{name: "8.8.3.2 weak comparison: W/1 1", a: weakTag(`"1"`), b: strongTag(`"1"`), strong: false, weak: true},
		{name: "8.8.3.2 weak comparison: 1 1", a: strongTag(`"1"`), b: strongTag(`"1"`), strong: true, weak: true},
		{name: "8.8.3.2 weak comparison: 1 2", a: strongTag(`"1"`), b: strongTag(`"2"`), strong: false, weak: false},
		{name: "8.8.3.2 opaque-tags are case-sensitive", a: strongTag(`"a"`), b: strongTag(`"A"`), strong: false, weak: false},
		{name: "8.8.3.2 empty tags", a: strongTag(`""`), b: strongTag(`""`), strong: true, weak: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.strong, StrongMatch(tc.a, tc.b), "strongMatch(a, b)")
			assert.Equal(t, tc.strong, StrongMatch(tc.b, tc.a), "strongMatch(b, a)")
			assert.Equal(t, tc.weak, WeakMatch(tc.a, tc.b), "weakMatch(a, b)")
			assert.Equal(t, tc.weak, WeakMatch(tc.b, tc.a), "weakMatch(b, a)")
		})
	}
}

type etagListCase struct {
	name   string
	values []string
	want   []ETag
	any    bool
}

var etagListCases = []etagListCase{
	{name: "13.1.2 If-None-Match star", values: []string{"*"}, any: true},
	{name: "13.1.2 If-None-Match star with OWS", values: []string{" \t* "}, any: true},
	{name: "13.1.2 If-None-Match star on every line", values: []string{"*", "*"}, any: true},
	{name: "13.1.2 star mixed with tags is skipped", values: []string{`*, "a"`}, want: []ETag{strongTag(`"a"`)}},
	{name: "13.1.2 star on one line and a tag on another", values: []string{`*`, `W/"a"`}, want: []ETag{weakTag(`"a"`)}},
	{name: "13.1.2 star mixed with an invalid member", values: []string{`*, a b`}},
	{name: "13.1.2 star mixed with an unquoted tag", values: []string{`*, xyzzy`}, want: []ETag{strongTag(`"xyzzy"`)}},
	{name: "13.1.2 quoted star is a tag", values: []string{`"*"`}, want: []ETag{strongTag(`"*"`)}},
	{name: "13.1.2 single tag", values: []string{`"xyzzy"`}, want: []ETag{strongTag(`"xyzzy"`)}},
	{
		name:   "13.1.2 RFC examples",
		values: []string{`"xyzzy", "r2d2xxxx", "c3piozzzz"`},
		want:   []ETag{strongTag(`"xyzzy"`), strongTag(`"r2d2xxxx"`), strongTag(`"c3piozzzz"`)},
	},
	{
		name:   "13.1.2 weak tags",
		values: []string{`W/"xyzzy", W/"r2d2xxxx", W/"c3piozzzz"`},
		want:   []ETag{weakTag(`"xyzzy"`), weakTag(`"r2d2xxxx"`), weakTag(`"c3piozzzz"`)},
	},
	{
		name:   "13.1.2 list with quoted commas",
		values: []string{`"a,b", "c"`},
		want:   []ETag{strongTag(`"a,b"`), strongTag(`"c"`)},
	},
	{
		name:   "13.1.2 list with quoted commas and no spaces",
		values: []string{`W/"a,b",W/",",","`},
		want:   []ETag{weakTag(`"a,b"`), weakTag(`","`), strongTag(`","`)},
	},
	{
		name:   "13.1.2 list split over several field lines",
		values: []string{`"a"`, `W/"b", "c"`, `"d,e"`},
		want:   []ETag{strongTag(`"a"`), weakTag(`"b"`), strongTag(`"c"`), strongTag(`"d,e"`)},
	},
	{
		name:   "13.1.2 empty members and OWS",
		values: []string{` , ,"a",, ` + "\t", "", ",", `"b"	,`},
		want:   []ETag{strongTag(`"a"`), strongTag(`"b"`)},
	},
	{
		name:   "13.1.2 invalid members skipped",
		values: []string{`x y, "a", W/x y, w/"lower", "b", "c" d, W/ "e", W/*`},
		want:   []ETag{strongTag(`"a"`), strongTag(`"b"`)},
	},
	{
		name:   "8.8.3 unquoted members read as quoted",
		values: []string{`xyzzy, "a", W/xyzzy,124567`, `w/abc`},
		want:   []ETag{strongTag(`"xyzzy"`), strongTag(`"a"`), weakTag(`"xyzzy"`), strongTag(`"124567"`), strongTag(`"w/abc"`)},
	},
	{
		// The unbalanced quote of the first member reaches to the end of its
		// line, but not into the next one.
		name:   "13.1.2 unbalanced quote swallows only the rest of its line",
		values: []string{`"a"b", "c"`, `"d"`},
		want:   []ETag{strongTag(`"d"`)},
	},
	{
		name:   "13.1.2 unterminated tag swallows only the rest of its line",
		values: []string{`"a", "unterminated, "b`, `"c"`},
		want:   []ETag{strongTag(`"a"`), strongTag(`"c"`)},
	},
	{name: "13.1.2 no field lines"},
	{name: "13.1.2 empty field line", values: []string{""}},
	{name: "13.1.2 only commas and OWS", values: []string{" , \t,"}},
}

func TestRFC9110_13_1_2_ETagList(t *testing.T) {
	for _, tc := range etagListCases {
		t.Run(tc.name, func(t *testing.T) {
			got, any := ParseETagList(tc.values)
			assert.Equal(t, tc.any, any, "any")
			assert.Equal(t, tc.want, got, "tags")
		})
	}
}

// checkETag fails unless t is what parseETag accepts: an opaque-tag that
// starts and ends with DQUOTE and has only etagc between them.
func checkETag(t *testing.T, tag ETag) {
	t.Helper()
	o := tag.Opaque
	require.GreaterOrEqual(t, len(o), 2, "opaque-tag %q too short", o)
	require.Equal(t, byte('"'), o[0], "opaque-tag %q", o)
	require.Equal(t, byte('"'), o[len(o)-1], "opaque-tag %q", o)
	require.NotContains(t, o[1:len(o)-1], `"`, "opaque-tag %q has an internal quote", o)
	for i := 1; i < len(o)-1; i++ {
		require.True(t, isETagChar(o[i]), "opaque-tag %q has byte %#x", o, o[i])
	}
	field := o
	if tag.Weak {
		field = "W/" + o
	}
	back, ok := ParseETag(field)
	require.True(t, ok, "%q does not parse back", field)
	require.Equal(t, tag, back)
}

func FuzzParseETagList(f *testing.F) {
	for _, tc := range etagListCases {
		switch len(tc.values) {
		case 0:
			f.Add("", "")
		case 1:
			f.Add(tc.values[0], "")
		default:
			f.Add(tc.values[0], strings.Join(tc.values[1:], ", "))
		}
	}
	for _, tc := range etagCases {
		f.Add(tc.in, tc.in)
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		values := []string{line1, line2}
		tags, any := ParseETagList(values)
		for _, tag := range tags {
			checkETag(t, tag)
		}
		if any {
			require.Empty(t, tags, "any with tags")
		}

		// Deterministic.
		again, anyAgain := ParseETagList(values)
		require.Equal(t, tags, again)
		require.Equal(t, any, anyAgain)

		// Each field line is parsed on its own, so the tags are those of the
		// lines in order.
		tags1, _ := ParseETagList(values[:1])
		tags2, _ := ParseETagList(values[1:])
		require.Equal(t, len(tags1)+len(tags2), len(tags))
		require.Equal(t, tags, append(append([]ETag(nil), tags1...), tags2...))

		// A single ETag field value is a list of one.
		if tag, ok := ParseETag(line1); ok {
			checkETag(t, tag)
			if !strings.Contains(line1, ",") {
				got, any := ParseETagList(values[:1])
				require.False(t, any)
				require.Equal(t, []ETag{tag}, got)
			}
		}
	})
}
