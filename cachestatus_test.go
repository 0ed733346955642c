package acache

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sfParser checks a field value against the grammar of Structured Fields,
// following the parsing algorithms of RFC 8941 Section 4.2 to the letter:
// it is written independently of cachestatus.go so that the two cannot
// share a mistake.
type sfParser struct {
	s string
	i int
}

// checkSFList reports why field is not an RFC 8941 List with at least one
// member (Section 4.2.1), or nil if it is one.
func checkSFList(field string) error {
	p := &sfParser{s: field}
	p.skipSP()
	if p.done() {
		return errors.New("empty list")
	}
	for {
		if err := p.itemOrInnerList(); err != nil {
			return fmt.Errorf("at byte %d of %q: %w", p.i, field, err)
		}
		p.skipOWS()
		if p.done() {
			return nil
		}
		if p.s[p.i] != ',' {
			return fmt.Errorf("at byte %d of %q: %q after a member; want \",\"", p.i, field, p.s[p.i])
		}
		p.i++
		p.skipOWS()
		if p.done() {
			return fmt.Errorf("%q ends with a comma", field)
		}
	}
}

func (p *sfParser) done() bool { return p.i == len(p.s) }

func (p *sfParser) skipSP() {
	for !p.done() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// itemOrInnerList parses a list member (Section 4.2.1.1).
func (p *sfParser) itemOrInnerList() error {
	if p.done() || p.s[p.i] != '(' {
		return p.item()
	}
	p.i++ // Section 4.2.1.2
	for {
		p.skipSP()
		if p.done() {
			return errors.New("inner list without \")\"")
		}
		if p.s[p.i] == ')' {
			p.i++
			return p.parameters()
		}
		if err := p.item(); err != nil {
			return err
		}
		if p.done() || p.s[p.i] != ' ' && p.s[p.i] != ')' {
			return errors.New("inner list items not separated by SP")
		}
	}
}

// item parses an sf-item: a bare item and its parameters (Section 4.2.3).
func (p *sfParser) item() error {
	if err := p.bareItem(); err != nil {
		return err
	}
	return p.parameters()
}

// bareItem parses Section 4.2.3.1.
func (p *sfParser) bareItem() error {
	if p.done() {
		return errors.New("no bare item")
	}
	switch c := p.s[p.i]; {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.string()
	case c == '*' || isAlpha(c):
		return p.token()
	case c == ':':
		return p.binary()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return nil
		}
		return errors.New("a boolean other than ?0 or ?1")
	default:
		return fmt.Errorf("%q cannot start a bare item", c)
	}
}

// parameters parses Section 4.2.3.2.
func (p *sfParser) parameters() error {
	for !p.done() && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		if err := p.key(); err != nil {
			return err
		}
		if !p.done() && p.s[p.i] == '=' {
			p.i++
			if err := p.bareItem(); err != nil {
				return err
			}
		}
	}
	return nil
}

// key parses Section 4.2.3.3: lcalpha or "*", then lcalpha, DIGIT, "_",
// "-", "." or "*".
func (p *sfParser) key() error {
	if p.done() || !(p.s[p.i] == '*' || 'a' <= p.s[p.i] && p.s[p.i] <= 'z') {
		return errors.New("a key must start with a lowercase letter or \"*\"")
	}
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if !('a' <= c && c <= 'z' || isDigit(c) || strings.IndexByte("_-.*", c) >= 0) {
			break
		}
	}
	return nil
}

// number parses an integer or decimal (Section 4.2.4).
func (p *sfParser) number() error {
	if p.s[p.i] == '-' {
		p.i++
	}
	start, dot := p.i, -1
	for ; !p.done(); p.i++ {
		c := p.s[p.i]
		if c == '.' && dot < 0 && p.i-start <= 12 {
			dot = p.i
			continue
		}
		if !isDigit(c) {
			break
		}
	}
	switch {
	case p.i == start:
		return errors.New("a number without digits")
	case dot < 0 && p.i-start > 15:
		return errors.New("an integer of more than 15 digits")
	case dot == start:
		return errors.New("a decimal without an integer part")
	case dot >= 0 && (p.i-dot-1 < 1 || p.i-dot-1 > 3):
		return errors.New("a decimal without 1 to 3 fractional digits")
	}
	return nil
}

// string parses Section 4.2.5.
func (p *sfParser) string() error {
	for p.i++; !p.done(); p.i++ {
		switch c := p.s[p.i]; {
		case c == '\\':
			p.i++
			if p.done() || p.s[p.i] != '"' && p.s[p.i] != '\\' {
				return errors.New("a backslash not before \" or \\ in a string")
			}
		case c == '"':
			p.i++
			return nil
		case c <= 0x1f || c >= 0x7f:
			return fmt.Errorf("byte %#x in a string", c)
		}
	}
	return errors.New("a string without its closing quote")
}

// token parses Section 4.2.6: tchar, ":" and "/" after the first.
func (p *sfParser) token() error {
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if !(isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~:/", c) >= 0) {
			break
		}
	}
	return nil
}

// binary parses Section 4.2.7.
func (p *sfParser) binary() error {
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if c == ':' {
			p.i++
			return nil
		}
		if !(isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=') {
			return fmt.Errorf("%q in a byte sequence", c)
		}
	}
	return errors.New("a byte sequence without its closing colon")
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func TestSFListChecker(t *testing.T) {
	t.Parallel()
	for _, field := range []string{
		`acache; hit; ttl=30`, `"my cache"; fwd=uri-miss`, `a, b;x=?0, (c "d");y=1.5`, `cdn:1/2; detail=:aGk=:`,
		`*x; k=-7`, `a ,	b`,
	} {
		assert.NoError(t, checkSFList(field), "a valid List")
	}
	for _, field := range []string{
		``, `my cache`, `a; detail="héllo"`, `a; detail="a	b"`, `a; detail="a\nb"`, `a; detail="open`, `a,`,
		`1a b`, `a; Hit`, `a; ttl=1234567890123456`, `a; x=1.`, `a; x=1.2345`, `a; x=?2`, `(a`, `a;x=:a*:`, `é`,
	} {
		assert.Error(t, checkSFList(field), "%q is not a valid List", field)
	}
}

// TestRFC9211_2_CacheStatusIsAnSFList checks that every member String writes
// is an RFC 8941 List member whatever the cache name and detail hold, and
// that parseCacheStatus reads it back.
func TestRFC9211_2_CacheStatusIsAnSFList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     CacheStatus
		want       string // String's output
		wantDetail string // the detail read back: the escaped form
	}{
		{"8941/3.3.4 a name that is a token is written bare",
			CacheStatus{Cache: "acache", Hit: true, TTL: 30 * time.Second}, `acache; hit; ttl=30`, ""},
		{"8941/3.3.4 a token may hold : and /",
			CacheStatus{Cache: "cdn.example:8080/edge", Fwd: policy.FwdURIMiss}, `cdn.example:8080/edge; fwd=uri-miss`, ""},
		{"8941/3.3.4 a token may start with *",
			CacheStatus{Cache: "*edge", Fwd: policy.FwdStale}, `*edge; fwd=stale`, ""},
		{"8941/3.3.3 a name with a space is an sf-string",
			CacheStatus{Cache: "my cache", Fwd: policy.FwdMiss, Detail: "x"}, `"my cache"; fwd=miss; detail="x"`, "x"},
		{"8941/3.3.3 a name starting with a digit is an sf-string",
			CacheStatus{Cache: "1cache", Hit: true}, `"1cache"; hit; ttl=0`, ""},
		{"8941/3.3.3 a name with a comma and a semicolon is an sf-string",
			CacheStatus{Cache: "a, b; c", Hit: true}, `"a, b; c"; hit; ttl=0`, ""},
		{"8941/3.3.3 a name with a quote and a backslash is escaped",
			CacheStatus{Cache: `a"b\c`, Hit: true}, `"a\"b\\c"; hit; ttl=0`, ""},
		{"8941/3.3.3 a detail that is a token is still an sf-string",
			CacheStatus{Cache: "acache", Fwd: policy.FwdURIMiss, FwdStatus: 200, Detail: "no-store"},
			`acache; fwd=uri-miss; fwd-status=200; detail="no-store"`, "no-store"},
		{"8941/3.3.3 a quote in a detail is escaped",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: `say "hi"`}, `acache; fwd=bypass; detail="say \"hi\""`, `say "hi"`},
		{"8941/3.3.3 a backslash in a detail is escaped",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: `C:\dir`}, `acache; fwd=bypass; detail="C:\\dir"`, `C:\dir`},
		{"8941/3.3.3 a tab in a detail is percent-encoded",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: "a\tb"}, `acache; fwd=bypass; detail="a%09b"`, "a%09b"},
		{"8941/3.3.3 a newline in a detail is percent-encoded",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: "a\r\nb"}, `acache; fwd=bypass; detail="a%0D%0Ab"`, "a%0D%0Ab"},
		{"8941/3.3.3 NUL and DEL in a detail are percent-encoded",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: "a\x00b\x7f"}, `acache; fwd=bypass; detail="a%00b%7F"`, "a%00b%7F"},
		{"8941/3.3.3 non-ASCII in a detail is percent-encoded byte by byte",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: "héllo\tx"}, `acache; fwd=bypass; detail="h%C3%A9llo%09x"`, "h%C3%A9llo%09x"},
		{"8941/3.3.3 invalid UTF-8 in a detail is percent-encoded",
			CacheStatus{Cache: "acache", Fwd: policy.FwdBypass, Detail: "\xff"}, `acache; fwd=bypass; detail="%FF"`, "%FF"},
		{"8941/3.3.3 the name seen in the report, with a detail",
			CacheStatus{Cache: "my cache", Fwd: policy.FwdMiss, Detail: "héllo\tx"}, `"my cache"; fwd=miss; detail="h%C3%A9llo%09x"`, "h%C3%A9llo%09x"},
		{"8941/3.3.1 fwd-status and a negative ttl are integers",
			CacheStatus{Cache: "acache", Fwd: policy.FwdStale, FwdStatus: 200, Stored: true, TTL: -5 * time.Second},
			`acache; fwd=stale; fwd-status=200; stored; ttl=-5`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.status.String()
			assert.Equal(t, tc.want, got, "String()")
			require.NoError(t, checkSFList(got), "String() = %q is not a valid Cache-Status: a client parsing it as RFC 8941 would drop the whole field", got)
			back, ok := parseCacheStatus([]string{got})
			require.True(t, ok, "parseCacheStatus(%q) failed", got)
			assert.Equal(t, tc.status.Cache, back.Cache, "the cache name read back from %q", got)
			assert.Equal(t, tc.wantDetail, back.Detail, "the detail read back from %q", got)
			assert.Equal(t, tc.status.Fwd, back.Fwd, "fwd")
			assert.Equal(t, tc.status.FwdStatus, back.FwdStatus, "fwd-status")

			// After other members, on one line and on lines of their own.
			line := `"edge one"; hit, ` + got
			require.NoError(t, checkSFList(line))
			again, ok := parseCacheStatus([]string{line})
			require.True(t, ok)
			assert.Equal(t, back, again, "the last member of %q", line)
			again, ok = parseCacheStatus([]string{"cdn; fwd=uri-miss", got})
			require.True(t, ok)
			assert.Equal(t, back, again, "the member on the last field line")
		})
	}
}

// TestRFC9211_2_CacheStatusNameOnTheWire checks the Cache-Status a
// Transport writes with a cache name that is not a token.
func TestRFC9211_2_CacheStatusNameOnTheWire(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stored" {
			w.Header().Set("Cache-Control", "max-age=60")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
	})
	tr := NewTransport(NewCache(nil, WithName("my cache")))
	for _, tc := range []struct {
		what   string
		path   string
		header http.Header
		status int
	}{
		{"a forwarded response", "/", nil, http.StatusOK},
		{"the cache's own 504", "/", hdr("Cache-Control", "only-if-cached"), http.StatusGatewayTimeout},
		{"a stored response", "/stored", nil, http.StatusOK},
		{"a hit", "/stored", nil, http.StatusOK},
	} {
		resp, _ := fetch(t, tr, "GET", o.URL+tc.path, tc.header)
		require.Equal(t, tc.status, resp.StatusCode, tc.what)
		field := strings.Join(resp.Header.Values("Cache-Status"), ", ")
		assert.NoError(t, checkSFList(field), "%s: Cache-Status is not a valid List", tc.what)
		s, ok := CacheStatusOf(resp)
		require.True(t, ok, "%s: CacheStatusOf(%q)", tc.what, field)
		assert.Equal(t, "my cache", s.Cache, "%s: the name read back", tc.what)
		assert.Equal(t, tc.what == "a hit", s.Hit, tc.what)
	}
}

// TestRFC8941_4_2_5_ParseCacheStatusStrings checks that parseCacheStatus
// reads sf-strings and other bare items as RFC 8941 Section 4.2 does.
func TestRFC8941_4_2_5_ParseCacheStatusStrings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		line string
		want CacheStatus
		ok   bool
	}{
		{"4.2.5 escaped quote and backslash", `"a\"b\\c"; hit`, CacheStatus{Cache: `a"b\c`, Hit: true}, true},
		{"4.2.5 a string name that is a token", `"acache"; hit`, CacheStatus{Cache: "acache", Hit: true}, true},
		{"4.2.5 a backslash before another byte", `"a\nb"; hit`, CacheStatus{}, false},
		{"4.2.5 a backslash at the end", `acache; detail="a\`, CacheStatus{}, false},
		{"4.2.5 a tab in a string", "acache; detail=\"a\tb\"", CacheStatus{}, false},
		{"4.2.5 non-ASCII in a string", `acache; detail="héllo"`, CacheStatus{}, false},
		{"4.2.5 bytes after the closing quote", `"a"b; hit`, CacheStatus{}, false},
		{"4.2.6 a bare name that is not a token", `1cache; hit`, CacheStatus{}, false},
		{"4.2.6 non-ASCII in a bare name", `cäche; hit`, CacheStatus{}, false},
		{"4.2.4 an integer of 16 digits fails the member", `acache; fwd=stale; fwd-status=1000000000000000`, CacheStatus{}, false},
		{"4.2.4 an integer of 15 digits is one", `acache; fwd=stale; fwd-status=100000000000000`,
			CacheStatus{Cache: "acache", Fwd: policy.FwdStale, FwdStatus: 100000000000000}, true},
		{"4.2.4 a plus sign is no integer", `acache; fwd=stale; fwd-status=+200`, CacheStatus{}, false},
		{"4.2.3.1 a decimal, a byte sequence and a boolean are bare items", `acache; hit=?1; x=1.5; detail=:aGk=:`,
			CacheStatus{Cache: "acache", Hit: true, Detail: ":aGk=:"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseCacheStatus([]string{tc.line})
			assert.Equal(t, tc.ok, ok, "parseCacheStatus(%q) ok", tc.line)
			assert.Equal(t, tc.want, got, "parseCacheStatus(%q)", tc.line)
		})
	}
}

func TestCacheStatusOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lines []string
		want  CacheStatus
		ok    bool
	}{
		{"hit", []string{"acache; hit; ttl=30"}, CacheStatus{Cache: "acache", Hit: true, TTL: 30 * time.Second}, true},
		{"last member wins", []string{"cdn; fwd=uri-miss", "acache; fwd=stale; fwd-status=200; stored; ttl=-5"},
			CacheStatus{Cache: "acache", Fwd: "stale", FwdStatus: 200, Stored: true, TTL: -5 * time.Second}, true},
		{"list in one line", []string{`"edge one"; hit, acache; fwd=uri-miss; detail="no-store"`},
			CacheStatus{Cache: "acache", Fwd: "uri-miss", Detail: "no-store"}, true},
		{"quoted comma", []string{`acache; fwd=bypass; detail="a, b"`}, CacheStatus{Cache: "acache", Fwd: "bypass", Detail: "a, b"}, true},
		{"empty", nil, CacheStatus{}, false},
		{"broken string", []string{`acache; detail="open`}, CacheStatus{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCacheStatus(tc.lines)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
			if ok {
				again, _ := parseCacheStatus([]string{got.String()})
				assert.Equal(t, got, again, "String round-trips")
			}
		})
	}
}

// FuzzParseCacheStatus checks that parseCacheStatus accepts only members
// with a name and a bounded TTL, and that String writes what it accepted as
// a valid member that parses back to the same status.
func FuzzParseCacheStatus(f *testing.F) {
	for _, seed := range []string{"acache; hit; ttl=30", `cdn; fwd=uri-miss, acache; detail="x"`, `"a\"b"; stored`, ";;,", `acache; ttl=99999999999999999999`,
		`"my cache"; fwd=miss; detail="h%C3%A9llo%09x"`, `acache; fwd="not a token"; fwd-status=-1`, `acache; fwd=5; ttl=5`, `*a:/b; detail=:aGk=:`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, ok := parseCacheStatus([]string{line})
		if !ok {
			return
		}
		if s.Cache == "" {
			t.Fatalf("parseCacheStatus(%q) accepted an empty cache name", line)
		}
		if s.TTL > httpsyntax.MaxDeltaSeconds*time.Second || s.TTL < -httpsyntax.MaxDeltaSeconds*time.Second {
			t.Fatalf("parseCacheStatus(%q).TTL = %v; out of range", line, s.TTL)
		}
		out := s.String()
		if err := checkSFList(out); err != nil {
			t.Fatalf("parseCacheStatus(%q).String() = %q, not a valid member: %v", line, out, err)
		}
		again, ok := parseCacheStatus([]string{out})
		if !ok {
			t.Fatalf("parseCacheStatus(%q).String() = %q does not parse back", line, out)
		}
		if again != s { // String writes ttl whenever it is set (not zero)
			t.Fatalf("parseCacheStatus(%q) = %+v; String() = %q parses back to %+v", line, s, out, again)
		}
	})
}

// FuzzCacheStatusString checks that String writes a valid member whatever
// the name and detail hold, and that its name reads back unchanged when it
// is printable ASCII.
func FuzzCacheStatusString(f *testing.F) {
	f.Add("my cache", "héllo\tx", "miss", 200, true)
	f.Add("cdn:1/2", `a"b\c`, "", 0, false)
	f.Add("\x00", "\n", "a b", -1, true)
	f.Fuzz(func(t *testing.T, name, detail, fwd string, fwdStatus int, hit bool) {
		s := CacheStatus{Cache: name, Hit: hit, Fwd: fwd, FwdStatus: fwdStatus, Detail: detail, TTL: time.Duration(fwdStatus) * time.Second}
		out := s.String()
		if name == "" {
			return // no member without a name
		}
		if err := checkSFList(out); err != nil {
			t.Fatalf("%+v.String() = %q, not a valid member: %v", s, out, err)
		}
		back, ok := parseCacheStatus([]string{out})
		if !ok {
			t.Fatalf("%+v.String() = %q does not parse back", s, out)
		}
		if printableASCII(name) && back.Cache != name {
			t.Fatalf("%+v.String() = %q parses back to the name %q", s, out, back.Cache)
		}
		if printableASCII(detail) && back.Detail != detail || !printableASCII(back.Detail) {
			t.Fatalf("%+v.String() = %q parses back to the detail %q", s, out, back.Detail)
		}
		if back.Hit != hit {
			t.Fatalf("%+v.String() = %q parses back with Hit = %v", s, out, back.Hit)
		}
	})
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
