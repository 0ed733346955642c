package httpsyntax

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errNoDial is what the Transport of netHTTPSends dials: it stands for a
// request net/http would have sent.
var errNoDial = errors.New("the test does not dial")

// netHTTPSends reports whether net/http's Transport would send a request
// with the header h, rather than refuse it before it dials.
func netHTTPSends(t *testing.T, h http.Header) bool {
	t.Helper()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, errNoDial }}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", "http://example.test/", nil)
	require.NoError(t, err)
	req.Header = h
	_, err = tr.RoundTrip(req)
	return errors.Is(err, errNoDial)
}

// onTheWire writes a request with the header h and the Host field host, as
// net/http's client does, and returns the Host it wrote and the header a
// net/http server reads back (without the User-Agent net/http adds).
func onTheWire(t *testing.T, host string, h http.Header) (sentHost string, read http.Header, err error) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://example.test/", nil)
	require.NoError(t, err)
	req.Host = host
	if h != nil {
		req.Header = h.Clone()
	}
	req.Header.Set("User-Agent", "") // none on the wire
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		return "", nil, err
	}
	for line := range strings.Lines(buf.String()) {
		if v, ok := strings.CutPrefix(line, "Host: "); ok {
			sentHost = strings.TrimSuffix(v, "\r\n")
			break
		}
	}
	wire := strings.Replace(buf.String(), "Host: "+sentHost+"\r\n", "Host: example.test\r\n", 1)
	got, err := http.ReadRequest(bufio.NewReader(strings.NewReader(wire)))
	require.NoError(t, err, "net/http cannot read the request it wrote:\n%s", wire)
	return sentHost, got.Header, nil
}

func TestRFC9110_5_6_2_Tokens(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"GET", true},
		{"x-foo", true},
		{"X_Foo.1", true},
		{"!#$%&'*+-.^_`|~09azAZ", true},
		{"", false},
		{"a b", false},
		{"a\tb", false},
		{"a:b", false},
		{"a/b", false},
		{"a,b", false},
		{"a;b", false},
		{"a=b", false},
		{"a@b", false},
		{"a?b", false},
		{`a"b`, false},
		{`a\b`, false},
		{"(a)", false},
		{"[a]", false},
		{"{a}", false},
		{"<a>", false},
		{"a\x00", false},
		{"a\r\n", false},
		{"a\x7f", false},
		{"é", false},
		{"a\x80", false},
	} {
		assert.Equal(t, tc.want, ValidToken(tc.s), "validToken(%q)", tc.s)
		if tc.s != "" { // net/http reads an empty method as GET
			_, err := http.NewRequest(tc.s, "http://example.test/", nil)
			assert.Equal(t, tc.want, err == nil, "validToken(%q) = %v; net/http accepts it as a method: %v", tc.s, tc.want, err == nil)
		}
		assert.Equal(t, tc.want, netHTTPSends(t, http.Header{tc.s: {"v"}}),
			"validToken(%q) = %v; net/http sends it as a field name: %v", tc.s, tc.want, !tc.want)
	}
}

func TestRFC9110_5_5_FieldValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"", true},
		{"plain", true},
		{"a\tb", true},
		{" around ", true},
		{`"quoted", (comment)`, true},
		{"é, obs-text \x80\xff", true},
		{"a\x00b", false},
		{"a\rb", false},
		{"a\nb", false},
		{"a\r\n b", false},
		{"\x01", false},
		{"\x1f", false},
		{"\x7f", false},
	} {
		assert.Equal(t, tc.want, ValidFieldValue(tc.v), "validFieldValue(%q)", tc.v)
		assert.Equal(t, tc.want, netHTTPSends(t, http.Header{"X-Value": {tc.v}}),
			"validFieldValue(%q) = %v; net/http sends it", tc.v, tc.want)
		assert.Equal(t, tc.want, ValidHeader(http.Header{"Accept": {"a"}, "X-Value": {"b", tc.v}}), "validHeader with the value %q", tc.v)
	}
	assert.True(t, ValidHeader(nil), "validHeader(nil)")
	assert.False(t, ValidHeader(http.Header{"Bad Name": {"v"}}), "validHeader with a name that is not a token")
}

func TestRFC9110_7_2_Host(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host  string
		valid bool
		sent  string // the Host net/http writes
	}{
		{"example.com", true, "example.com"},
		{"EXAMPLE.com:8080", true, "EXAMPLE.com:8080"},
		{"127.0.0.1:80", true, "127.0.0.1:80"},
		{"[::1]:443", true, "[::1]:443"},
		{"a_b~c!$&'()*+,;=", true, "a_b~c!$&'()*+,;="},
		{"a%41b", true, "a%41b"},
		// net/http removes an IPv6 zone (RFC 6874): the key keeps it, which
		// costs hits between spellings, never a wrong one.
		{"[fe80::1%25en0]", true, "[fe80::1]"},
		// What net/http would not send as it is: an empty Host instead, or
		// the host in Punycode.
		{"a b", false, ""},
		{"a/b", false, ""},
		{"a@b", false, ""},
		{"a?b", false, ""},
		{"a#b", false, ""},
		{`a\b`, false, ""},
		{`a"b`, false, ""},
		{"a{b}", false, ""},
		{"a^b", false, ""},
		{"a\tb", false, ""},
		{"a\x00b", false, ""},
		{"a\r\nX-Injected: 1", false, ""},
		{"a\x7f", false, ""},
		{"bücher.example", false, "xn--bcher-kva.example"},
	} {
		assert.Equal(t, tc.valid, ValidHost(tc.host), "validHost(%q)", tc.host)
		sent, _, err := onTheWire(t, tc.host, nil)
		require.NoError(t, err, "net/http writing the Host %q", tc.host)
		assert.Equal(t, tc.sent, sent, "the Host net/http writes for %q", tc.host)
		if !tc.valid {
			assert.NotEqual(t, tc.host, sent, "validHost(%q) = false, yet net/http sends it as it is", tc.host)
		}
	}
}

func TestRFC9110_5_1_CanonicalHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		h    http.Header
		want http.Header
	}{
		{"canonical names stay", http.Header{"Accept": {"a", "b"}, "X-Foo": {"1"}},
			http.Header{"Accept": {"a", "b"}, "X-Foo": {"1"}}},
		{"lower case", http.Header{"content-type": {"text/plain"}},
			http.Header{"Content-Type": {"text/plain"}}},
		{"spellings combine in the order net/http writes them, sorted by name",
			http.Header{"x-foo": {"3"}, "X-Foo": {"2"}, "X-FOO": {"1", "1b"}},
			http.Header{"X-Foo": {"1", "1b", "2", "3"}}},
		{"an empty value is kept", http.Header{"x-empty": {""}},
			http.Header{"X-Empty": {""}}},
		{"underscores and digits", http.Header{"x_under-9a": {"v"}},
			http.Header{"X_under-9a": {"v"}}},
		{"no fields", http.Header{}, http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CanonicalHeader(tc.h)
			assert.Equal(t, tc.want, got, "canonicalHeader(%v)", tc.h)
			_, read, err := onTheWire(t, "", tc.h)
			require.NoError(t, err)
			assert.Equal(t, read, got, "canonicalHeader(%v) differs from what a net/http server reads", tc.h)
		})
	}
}

func TestRFC9110_5_1_FieldValuesFold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		h    http.Header
		want []string
	}{
		{"canonical", http.Header{"Authorization": {"a"}}, []string{"a"}},
		{"lower case only", http.Header{"authorization": {"a"}}, []string{"a"}},
		{"every spelling", http.Header{"Authorization": {"a"}, "AUTHORIZATION": {"b", "b2"}, "authorization": {"c"}},
			[]string{"a", "b", "b2", "c"}},
		{"other names of the same length", http.Header{"Authorizatiom": {"x"}, "authorization": {"a"}}, []string{"a"}},
		{"absent", http.Header{"X-Other": {"x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FieldValuesFold(tc.h, "Authorization")
			assert.ElementsMatch(t, tc.want, got, "fieldValuesFold(%v, Authorization)", tc.h)
			_, read, err := onTheWire(t, "", tc.h)
			require.NoError(t, err)
			assert.ElementsMatch(t, read["Authorization"], got, "fieldValuesFold(%v) differs from what a net/http server reads", tc.h)
		})
	}

	t.Run("the header is not written to", func(t *testing.T) {
		spare := make([]string, 1, 4)
		spare[0] = "a"
		h := http.Header{"Authorization": spare, "authorization": {"b"}}
		assert.Equal(t, []string{"a", "b"}, FieldValuesFold(h, "Authorization"))
		assert.Equal(t, []string{"a"}, h["Authorization"], "the caller's values")
		assert.Equal(t, "", spare[:2][1], "fieldValuesFold wrote into the spare capacity of the caller's values")
	})
}

func TestRFC9110_5_5_SingleFieldValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		h           http.Header
		v           string
		present, ok bool
	}{
		{"absent", http.Header{}, "", false, false},
		{"one line", http.Header{"Expires": {"x"}}, "x", true, true},
		{"an empty line", http.Header{"Expires": {""}}, "", true, true},
		{"equal lines", http.Header{"Expires": {"x", "x"}}, "x", true, true},
		{"lines that differ", http.Header{"Expires": {"x", "y"}}, "", true, false},
	} {
		v, present, ok := SingleFieldValue(tc.h, "Expires")
		assert.Equal(t, []any{tc.v, tc.present, tc.ok}, []any{v, present, ok}, "%s: singleFieldValue(%v)", tc.name, tc.h)
	}
}

func TestRFC9110_5_6_3_TrimOWS(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":            "",
		"a":           "a",
		" \t a b \t ": "a b",
		"\va\u00a0":   "\va\u00a0", // not OWS, unlike strings.TrimSpace
		"\r\na\r\n":   "\r\na\r\n",
		" \t \t":      "",
	} {
		assert.Equal(t, want, TrimOWS(in), "trimOWS(%q)", in)
	}
}

func TestRFC9111_1_2_2_Digits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s     string
		valid bool
		n     int64
	}{
		{"0", true, 0},
		{"007", true, 7},
		{"2147483648", true, 1 << 31},
		{"9223372036854775807", true, math.MaxInt64},
		{"9223372036854775808", true, math.MaxInt64}, // saturates
		{"99999999999999999999999999", true, math.MaxInt64},
		{"", false, 0},
		{"-1", false, 0},
		{"+1", false, 0},
		{"1 ", false, 0},
		{"1.0", false, 0},
		{"١", false, 0}, // not an ASCII digit
	} {
		assert.Equal(t, tc.valid, IsDigits(tc.s), "isDigits(%q)", tc.s)
		if tc.valid {
			assert.Equal(t, tc.n, ParseDigits(tc.s), "parseDigits(%q)", tc.s)
		}
	}
}
