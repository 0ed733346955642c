package httpsyntax

import (
	"cmp"
	"encoding/base64"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sfRow is one Dictionary field and what parseDictionary makes of it. A "\n"
// in the input separates field lines. want is the Dictionary serialized in
// canonical form ([serializeDictionary]); "!" for a field that must fail to
// parse.
type sfRow struct {
	in, want string
}

// sfFail is the want of a row whose field must fail to parse.
const sfFail = "!"

// sfGroups are the parser's tests, named after the sections of RFC 8941
// they check; most are the RFC's own examples. They also seed
// FuzzParseDictionary.
var sfGroups = []struct {
	name string
	rows []sfRow
}{
	{"3.2 Dictionaries: the RFC's examples", []sfRow{
		{`en="Applepie", da=:w4ZibGV0w6ZydGUK:`, `en="Applepie", da=:w4ZibGV0w6ZydGUK:`},
		{`a=?0, b, c; foo=bar`, `a=?0, b, c;foo=bar`},
		{`rating=1.5, feelings=(joy sadness)`, `rating=1.5, feelings=(joy sadness)`},
		{`a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid`, `a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid`},
		{"foo=1\nbar=2", `foo=1, bar=2`}, // Section 3.2: split across lines
	}},
	{"3.2 Dictionaries: members", []sfRow{
		{``, ``},
		{`a=1`, `a=1`},
		{`a=()`, `a=()`},
		{`a=(1)`, `a=(1)`},
		{`a=1,b=2`, `a=1, b=2`},
		{`a=1 , b=2`, `a=1, b=2`},
		{"a=1\t,\tb=2", `a=1, b=2`},
		{`a=?1`, `a`},
		{`a=?1;x=?1`, `a;x`},
		{`a;x=?0`, `a;x=?0`},
		{`a=b; q=1.0`, `a=b;q=1.0`},
		{`a=(1 2); q=1.0`, `a=(1 2);q=1.0`},
		{`a=3;c;d=5`, `a=3;c;d=5`},
		{`*a=1, a*._-9=2`, `*a=1, a*._-9=2`},
	}},
	{"3.2 Dictionaries: a repeated key keeps its place and takes its last value", []sfRow{
		{`a=1, b=2, a=3`, `a=3, b=2`},
		{`a=1, a`, `a`},
		{"a=1\na=(2)", `a=(2)`},
		{`a=1;x=1;y=2;x=3`, `a=1;x=3;y=2`},
	}},
	{"3.2 Dictionaries: keys", []sfRow{
		{`A=1`, sfFail},
		{`aA=1`, sfFail},
		{`1a=1`, sfFail},
		{`_a=1`, sfFail},
		{`a+b=1`, sfFail},
		{`a=1;Q=2`, sfFail},
		{`a=1;=2`, sfFail},
		{`=1`, sfFail},
		{`é=1`, sfFail},
	}},
	{"3.1.1 Inner Lists", []sfRow{
		{`a=("foo" "bar");lvl=5`, `a=("foo" "bar");lvl=5`},
		{`a=(1;x=2 tok;y)`, `a=(1;x=2 tok;y)`},
		{`a=(  1  2  )`, `a=(1 2)`},
		{`a=(1,2)`, sfFail},
		{`a=(1	2)`, sfFail},
		{`a=(1 2`, sfFail},
		{`a=((1))`, sfFail},
		{`a=(1)(2)`, sfFail},
		{`a=(1);`, sfFail},
	}},
	{"3.1.2 Parameters", []sfRow{
		{`a=1;x=?1`, `a=1;x`},
		{`a=1; x=2`, `a=1;x=2`},
		{`a=1;x=(1)`, sfFail},
		{`a=1 ;x=2`, sfFail},
		{`a=1;x =2`, sfFail},
		{`a=1;x= 2`, sfFail},
		{`a=1;x=2;`, sfFail},
	}},
	{"3.3.1 Integers", []sfRow{
		{`a=42`, `a=42`},
		{`a=-42`, `a=-42`},
		{`a=0`, `a=0`},
		{`a=-0`, `a=0`},
		{`a=0042`, `a=42`},
		{`a=999999999999999`, `a=999999999999999`},
		{`a=-999999999999999`, `a=-999999999999999`},
		{`a=1000000000000000`, sfFail},
		{`a=9999999999999999`, sfFail},
		{`a=--1`, sfFail},
		{`a=-`, sfFail},
		{`a=+1`, sfFail},
		{`a=1a`, sfFail},
		{`a=1e3`, sfFail},
	}},
	{"3.3.2 Decimals", []sfRow{
		{`a=4.5`, `a=4.5`},
		{`a=-4.5`, `a=-4.5`},
		{`a=1.0`, `a=1.0`},
		{`a=1.250`, `a=1.25`},
		{`a=0.001`, `a=0.001`},
		{`a=123456789012.123`, `a=123456789012.123`},
		{`a=-123456789012.123`, `a=-123456789012.123`},
		{`a=1234567890123.0`, sfFail},
		{`a=1.1234`, sfFail},
		{`a=1.`, sfFail},
		{`a=.1`, sfFail},
		{`a=-.1`, sfFail},
		{`a=1.2.3`, sfFail},
		{`a=1..2`, sfFail},
	}},
	{"3.3.3 Strings", []sfRow{
		{`a="hello world"`, `a="hello world"`},
		{`a=""`, `a=""`},
		{`a="\"\\"`, `a="\"\\"`},
		{`a="~ !#$%&'()*+,-./:;<=>?@[]^_{|}` + "`" + `"`, `a="~ !#$%&'()*+,-./:;<=>?@[]^_{|}` + "`" + `"`},
		{`a="\a"`, sfFail},
		{`a="\"`, sfFail},
		{`a="open`, sfFail},
		{"a=\"tab\there\"", sfFail},
		{"a=\"del\x7f\"", sfFail},
		{`a="héllo"`, sfFail},
		{`a='x'`, sfFail},
	}},
	{"3.3.4 Tokens", []sfRow{
		{`a=foo123/456`, `a=foo123/456`},
		{`a=*foo`, `a=*foo`},
		{`a=text/html:x!#$%&'*+-.^_` + "`" + `|~`, `a=text/html:x!#$%&'*+-.^_` + "`" + `|~`},
		{`a=Foo`, `a=Foo`},
		{`a=foo bar`, sfFail},
		{`a=foo"`, sfFail},
		{`a=_foo`, sfFail},
	}},
	{"3.3.5 Byte Sequences", []sfRow{
		{`a=:cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:`, `a=:cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:`},
		{`a=::`, `a=::`},
		{`a=:aGVsbG8:`, `a=:aGVsbG8=:`}, // 4.2.7: padding may be left out
		{`a=:aGVsbA=:`, `a=:aGVsbA==:`}, // or short
		{`a=:iZ==:`, `a=:iQ==:`},        // 4.2.7: non-zero pad bits are accepted
		{`a=:/+Ah:`, `a=:/+Ah:`},        // the standard alphabet
		{`a=:aGVsbG8==:`, sfFail},       // more padding than any length needs
		{`a=:aGVs=:`, sfFail},           // padding where none is needed
		{`a=:=aGVsbG8=:`, sfFail},       // padding first
		{`a=:a=GVsbG8=:`, sfFail},       // padding inside
		{`a=:aGVsbG8=`, sfFail},         // no closing colon
		{`a=:aGVsb G8=:`, sfFail},       // a space
		{`a=:aGVsbG!8=:`, sfFail},       // a byte outside the alphabet
		{`a=:_-Ah:`, sfFail},            // base64url
		{`a=:a:`, sfFail},               // one character cannot be decoded
		{"a=:aGVs\nbG8=:", sfFail},      // package base64 would skip the newline
		{"a=:aGVs\r:", sfFail},          // and the CR
		{`a=:aGVsbG8=:x`, sfFail},       // something after it
		{`a=:aGVsbG8=: , b=:YQ:`, `a=:aGVsbG8=:, b=:YQ==:`},
	}},
	{"3.3.6 Booleans", []sfRow{
		{`a=?1`, `a`},
		{`a=?0`, `a=?0`},
		{`a=?`, sfFail},
		{`a=?2`, sfFail},
		{`a=?10`, sfFail},
		{`a=true`, `a=true`}, // a Token, not a Boolean
	}},
	{"4.2 Parsing: spaces around the value", []sfRow{
		{`   a=1   `, `a=1`},
		{"a=1\t", `a=1`},
		{"\ta=1", sfFail}, // only SP is discarded before the value
		{` `, ``},
	}},
	{"4.2.2 Parsing a Dictionary: separators", []sfRow{
		{`a=1,`, sfFail},
		{`a=1, `, sfFail},
		{`a=1,,b=2`, sfFail},
		{`,a=1`, sfFail},
		{`a=1 b=2`, sfFail},
		{`a=1;b=2 c`, sfFail},
		{`a =1`, sfFail},
		{`a= 1`, sfFail},
		{`a=`, sfFail},
		{`a=1;`, sfFail},
		{"a=1\n", sfFail}, // an empty line after a line combines into a trailing comma
		{"\na=1", sfFail}, // and before it, into a leading one
	}},
	{"4.2.2 Parsing a Dictionary: the targeted fields of RFC 9213", []sfRow{
		{`max-age=60`, `max-age=60`},
		{`max-age=60, no-store, private="set-cookie"`, `max-age=60, no-store, private="set-cookie"`},
		{`max-age=10,,`, sfFail},
		{`max-age=010a`, sfFail},
		{`"x"`, sfFail},
		{`max-age=9999999999999999`, sfFail},
		{`Max-Age=60`, sfFail},
		{`no-cache="a, b"`, `no-cache="a, b"`},
		{`none`, `none`},
	}},
}

// sfDictionaryGrammar is the ABNF of a Dictionary field ([RFC 8941 Section
// 3.2] and the rules it refers to) as a regular expression, written apart
// from the parser as an oracle for it, with what the parsing algorithms of
// Section 4.2 add: spaces before and after the value, OWS after the last
// member, and base64 whose padding is missing or short but never in excess
// (Section 4.2.7). The field lines are joined with ", " first.
//
// [RFC 8941 Section 3.2]: https://www.rfc-editor.org/rfc/rfc8941#section-3.2
var sfDictionaryGrammar = func() *regexp.Regexp {
	const (
		key     = `[a-z*][a-z0-9_.*-]*`
		integer = `-?[0-9]{1,15}`
		decimal = `-?[0-9]{1,12}\.[0-9]{1,3}`
		str     = `"(?:[ !#-\[\]-~]|\\["\\])*"`
		token   = `[A-Za-z*][!#$%&'*+.^_` + "`" + `|~0-9A-Za-z:/-]*`
		b64     = `[A-Za-z0-9+/]`
		binary  = `:(?:` + b64 + `{4})*(?:` + b64 + `{2}={0,2}|` + b64 + `{3}=?)?:`
		boolean = `\?[01]`
		bare    = `(?:` + integer + `|` + decimal + `|` + str + `|` + token + `|` + binary + `|` + boolean + `)`
		params  = `(?:; *` + key + `(?:=` + bare + `)?)*`
		item    = bare + params
		inner   = `\( *(?:` + item + `(?: +` + item + `)* *)?\)` + params
		member  = key + `(?:=(?:` + item + `|` + inner + `)|` + params + `)`
		dict    = member + `(?:[ \t]*,[ \t]*` + member + `)*[ \t]*`
	)
	return regexp.MustCompile(`^ *(?:` + dict + `)? *$`)
}()

// sfGrammarAccepts reports whether the field lines match sfDictionaryGrammar.
func sfGrammarAccepts(lines []string) bool {
	return sfDictionaryGrammar.MatchString(strings.Join(lines, ", "))
}

// serializeDictionary writes d in the canonical form of [RFC 8941 Section
// 4.1.2], so that tests can say what they expect in one string, and the fuzz
// target can check that what the parser accepts reads back the same.
func serializeDictionary(d sfDictionary) string {
	var b strings.Builder
	for i, m := range d {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.key)
		if m.item.kind == sfKindBoolean && m.item.boolean {
			serializeParams(&b, m.item.params)
			continue
		}
		b.WriteByte('=')
		serializeItem(&b, m.item)
	}
	return b.String()
}

// serializeItem writes an Item or an Inner List with its parameters
// (Sections 4.1.1.1, 4.1.3).
func serializeItem(b *strings.Builder, item sfItem) {
	if item.kind == sfKindInnerList {
		b.WriteByte('(')
		for i, inner := range item.inner {
			if i > 0 {
				b.WriteByte(' ')
			}
			serializeItem(b, inner)
		}
		b.WriteByte(')')
	} else {
		serializeBareItem(b, item)
	}
	serializeParams(b, item.params)
}

// serializeParams writes parameters (Section 4.1.1.2).
func serializeParams(b *strings.Builder, params []sfMember) {
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.item.kind != sfKindBoolean || !p.item.boolean {
			b.WriteByte('=')
			serializeBareItem(b, p.item)
		}
	}
}

// serializeBareItem writes a bare item (Sections 4.1.4 to 4.1.9).
func serializeBareItem(b *strings.Builder, item sfItem) {
	switch item.kind {
	case sfKindInteger:
		b.WriteString(strconv.FormatInt(item.num, 10))
	case sfKindDecimal:
		n := item.num
		if n < 0 {
			b.WriteByte('-')
			n = -n
		}
		b.WriteString(strconv.FormatInt(n/sfDecimalMultiplier, 10))
		frac := strings.TrimRight(strconv.FormatInt(sfDecimalMultiplier+n%sfDecimalMultiplier, 10)[1:], "0")
		b.WriteByte('.')
		b.WriteString(cmp.Or(frac, "0"))
	case sfKindString:
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(item.str))
		b.WriteByte('"')
	case sfKindToken:
		b.WriteString(item.str)
	case sfKindBytes:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(item.str)))
		b.WriteByte(':')
	case sfKindBoolean:
		b.WriteString(map[bool]string{false: "?0", true: "?1"}[item.boolean])
	default:
		panic("serializeBareItem: kind " + strconv.Itoa(int(item.kind)))
	}
}

// parseDictionaryText parses in, its field lines separated by "\n".
func parseDictionaryText(in string) (sfDictionary, bool) {
	return parseDictionary(strings.Split(in, "\n"))
}

func TestRFC8941_Dictionaries(t *testing.T) {
	t.Parallel()
	for _, g := range sfGroups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, row := range g.rows {
				d, ok := parseDictionaryText(row.in)
				assert.Equal(t, ok, sfGrammarAccepts(strings.Split(row.in, "\n")), "parseDictionary(%q) and the grammar disagree", row.in)
				if row.want == sfFail {
					assert.False(t, ok, "parseDictionary(%q) accepted a field RFC 8941 rejects: %q", row.in, serializeDictionary(d))
					assert.Nil(t, d, "parseDictionary(%q) failed but returned members", row.in)
					continue
				}
				if assert.True(t, ok, "parseDictionary(%q) rejected a valid field", row.in) {
					assert.Equal(t, row.want, serializeDictionary(d), "parseDictionary(%q), serialized", row.in)
				}
			}
		})
	}
}

// TestRFC8941_3_3_ItemValues checks the values the parser gives, which the
// serialized form of TestRFC8941_Dictionaries would hide.
func TestRFC8941_3_3_ItemValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want sfItem
	}{
		{`a=-42`, sfItem{kind: sfKindInteger, num: -42}},
		{`a=999999999999999`, sfItem{kind: sfKindInteger, num: 999_999_999_999_999}},
		{`a=1.5`, sfItem{kind: sfKindDecimal, num: 1500}},
		{`a=-0.001`, sfItem{kind: sfKindDecimal, num: -1}},
		{`a=123456789012.999`, sfItem{kind: sfKindDecimal, num: 123_456_789_012_999}},
		{`a="say \"hi\" \\o/"`, sfItem{kind: sfKindString, str: `say "hi" \o/`}},
		{`a=*tok/en`, sfItem{kind: sfKindToken, str: "*tok/en"}},
		{`a=:w4ZibGV0w6ZydGUK:`, sfItem{kind: sfKindBytes, str: "Æbletærte\n"}},
		{`a=?0`, sfItem{kind: sfKindBoolean}},
		{`a`, sfItem{kind: sfKindBoolean, boolean: true}},
		{`a;q=?0`, sfItem{kind: sfKindBoolean, boolean: true, params: []sfMember{{"q", sfItem{kind: sfKindBoolean}}}}},
		{`a=()`, sfItem{kind: sfKindInnerList, inner: []sfItem{}}},
		{`a=(1 b);c="d"`, sfItem{kind: sfKindInnerList,
			inner:  []sfItem{{kind: sfKindInteger, num: 1}, {kind: sfKindToken, str: "b"}},
			params: []sfMember{{"c", sfItem{kind: sfKindString, str: "d"}}}}},
	} {
		d, ok := parseDictionaryText(tc.in)
		require.True(t, ok, "parseDictionary(%q)", tc.in)
		require.Len(t, d, 1, "parseDictionary(%q)", tc.in)
		assert.Equal(t, "a", d[0].key, "parseDictionary(%q): key", tc.in)
		assert.Equal(t, tc.want, d[0].item, "parseDictionary(%q): value", tc.in)
	}
}

// TestRFC8941_4_2_FieldLines checks that field lines combine as one value
// joined by ", ", so that a member may not span two lines.
func TestRFC8941_4_2_FieldLines(t *testing.T) {
	t.Parallel()
	d, ok := parseDictionary(nil)
	assert.True(t, ok, "no field lines: the empty Dictionary")
	assert.Empty(t, d)
	d, ok = parseDictionary([]string{"a=1", " b=2 ", "c=(3 4)"})
	require.True(t, ok)
	assert.Equal(t, "a=1, b=2, c=(3 4)", serializeDictionary(d))
	_, ok = parseDictionary([]string{"a=(1", "2)"})
	assert.False(t, ok, "an inner list split across lines holds a comma")
	// Section 3.3.3: "Strings split across multiple field lines will have
	// unpredictable results", the comma becoming part of the String.
	d, ok = parseDictionary([]string{`a="x`, `y"`})
	require.True(t, ok)
	assert.Equal(t, `a="x, y"`, serializeDictionary(d))
}

// FuzzParseDictionary checks that parseDictionary never panics, that it
// accepts exactly what the grammar of RFC 8941 does (sfDictionaryGrammar),
// that what it accepts reads back the same once serialized (a round trip),
// and that it holds only the keys and values RFC 8941 allows. A "\n"
// in the input separates field lines.
func FuzzParseDictionary(f *testing.F) {
	for _, g := range sfGroups {
		for _, row := range g.rows {
			f.Add(row.in)
		}
	}
	for _, g := range targetedGroups {
		for _, row := range g.rows {
			f.Add(row.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, ok := parseDictionaryText(in)
		if grammar := sfGrammarAccepts(strings.Split(in, "\n")); ok != grammar {
			t.Fatalf("parseDictionary(%q) accepts it: %v; the grammar of RFC 8941: %v", in, ok, grammar)
		}
		if !ok {
			if d != nil {
				t.Fatalf("parseDictionary(%q) failed but returned %v", in, d)
			}
			return
		}
		checkSFDictionary(t, in, d)
		out := serializeDictionary(d)
		again, ok := parseDictionary([]string{out})
		if !ok {
			t.Fatalf("parseDictionary(%q) = %q, which does not parse", in, out)
		}
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("parseDictionary(%q) = %#v; serialized as %q it reads back as %#v", in, d, out, again)
		}
		if s := serializeDictionary(again); s != out {
			t.Fatalf("the canonical form %q of %q serializes again as %q", out, in, s)
		}
	})
}

// checkSFDictionary fails t if d, parsed from in, holds a repeated or invalid
// key, or a value RFC 8941 does not allow.
func checkSFDictionary(t *testing.T, in string, d sfDictionary) {
	t.Helper()
	checkKeys := func(members []sfMember) {
		seen := map[string]bool{}
		for _, m := range members {
			if seen[m.key] || !validSFKey(m.key) {
				t.Fatalf("parseDictionary(%q): key %q repeated or invalid", in, m.key)
			}
			seen[m.key] = true
		}
	}
	var checkItem func(item sfItem, bare bool)
	checkItem = func(item sfItem, bare bool) {
		checkKeys(item.params)
		for _, p := range item.params {
			checkItem(p.item, true)
			if p.item.params != nil {
				t.Fatalf("parseDictionary(%q): a parameter %q with parameters", in, p.key)
			}
		}
		switch item.kind {
		case sfKindInnerList:
			if bare {
				t.Fatalf("parseDictionary(%q): an inner list where a bare item belongs", in)
			}
			for _, inner := range item.inner {
				checkItem(inner, true)
			}
		case sfKindInteger:
			if item.num > MaxSFInteger || item.num < -MaxSFInteger {
				t.Fatalf("parseDictionary(%q): integer %d out of range", in, item.num)
			}
		case sfKindDecimal:
			if n := item.num / sfDecimalMultiplier; n > 999_999_999_999 || n < -999_999_999_999 {
				t.Fatalf("parseDictionary(%q): decimal %d/1000 out of range", in, item.num)
			}
		case sfKindString:
			for i := 0; i < len(item.str); i++ {
				if c := item.str[i]; c < 0x20 || c > 0x7e {
					t.Fatalf("parseDictionary(%q): byte %#x in a string", in, c)
				}
			}
		case sfKindToken:
			if !SFToken(item.str) {
				t.Fatalf("parseDictionary(%q): %q is not a token", in, item.str)
			}
		case sfKindBytes, sfKindBoolean:
		default:
			t.Fatalf("parseDictionary(%q): an item of kind %d", in, item.kind)
		}
	}
	checkKeys(d)
	for _, m := range d {
		checkItem(m.item, false)
	}
}

// validSFKey reports a key of RFC 8941 Section 3.1.2, written apart from the
// parser's.
func validSFKey(key string) bool {
	if key == "" || key[0] != '*' && (key[0] < 'a' || key[0] > 'z') {
		return false
	}
	return strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789_-.*") == ""
}

func BenchmarkParseDictionary(b *testing.B) {
	lines := []string{`max-age=600, stale-while-revalidate=30, no-cache="set-cookie, x-user"`}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseDictionary(lines); !ok {
			b.Fatal("did not parse")
		}
	}
}
