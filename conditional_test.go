package acache

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conditionalNow is the fixed current time of the conditional-request tests.
var conditionalNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// Dates around conditionalNow, in IMF-fixdate.
const (
	condEarly  = "Sat, 01 Mar 2025 00:00:00 GMT"
	condMiddle = "Tue, 01 Apr 2025 00:00:00 GMT"
	condLate   = "Thu, 01 May 2025 00:00:00 GMT"
	// condMiddle850 is condMiddle in the obsolete RFC 850 form.
	condMiddle850 = "Tuesday, 01-Apr-25 00:00:00 GMT"
	// condNowDate is conditionalNow itself; condFuture is an hour later.
	condNowDate = "Sun, 01 Jun 2025 12:00:00 GMT"
	condFuture  = "Sun, 01 Jun 2025 13:00:00 GMT"
)

// condHeader builds an http.Header from name, value pairs; a name may repeat to make
// several field lines.
func condHeader(kv ...string) http.Header {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestRFC9111_4_3_2_NotModified(t *testing.T) {
	tests := []struct {
		name   string
		method string // GET if empty
		req    http.Header
		stored http.Header
		want   bool
	}{
		// If-None-Match.
		{name: "13.1.2 If-None-Match star", req: condHeader("If-None-Match", "*"), stored: condHeader("Etag", `"a"`), want: true},
		{name: "13.1.2 If-None-Match star, stored response without ETag", req: condHeader("If-None-Match", "*"), stored: condHeader(), want: true},
		{name: "13.1.2 If-None-Match star, HEAD", method: http.MethodHead, req: condHeader("If-None-Match", "*"), stored: condHeader(), want: true},
		{name: "13.1.2 If-None-Match star, POST is not answered", method: http.MethodPost, req: condHeader("If-None-Match", "*"), stored: condHeader(), want: false},
		{name: "13.1.2 If-None-Match, lowercase method is not GET", method: "get", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.1.2 If-None-Match match", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`), want: true},
		{name: "13.1.2 If-None-Match no match", req: condHeader("If-None-Match", `"b"`), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.1.2 If-None-Match weak comparison, weak request tag", req: condHeader("If-None-Match", `W/"a"`), stored: condHeader("Etag", `"a"`), want: true},
		{name: "13.1.2 If-None-Match weak comparison, weak stored tag", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `W/"a"`), want: true},
		{name: "13.1.2 If-None-Match one of a list", req: condHeader("If-None-Match", `"x", W/"a", "y"`), stored: condHeader("Etag", `W/"a"`), want: true},
		{name: "13.1.2 list with quoted commas", req: condHeader("If-None-Match", `"a,b", "c"`), stored: condHeader("Etag", `"a,b"`), want: true},
		{name: "13.1.2 list with quoted commas, not split", req: condHeader("If-None-Match", `"a,b", "c"`), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.1.2 list with quoted commas, no piece matches", req: condHeader("If-None-Match", `"a,b"`), stored: condHeader("Etag", `"b"`), want: false},
		{name: "13.1.2 If-None-Match over several field lines", req: condHeader("If-None-Match", `"x"`, "If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`), want: true},
		{name: "13.1.2 If-None-Match, stored response without ETag", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.2 If-None-Match, stored ETag invalid", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `a b`), want: false},
		{name: "13.1.2 If-None-Match, stored ETag lines differ", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`, "Etag", `"b"`), want: false},
		{name: "13.1.2 If-None-Match, stored ETag lines repeated", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`, "Etag", `"a"`), want: true},
		{name: "13.1.2 If-None-Match invalid members do not match", req: condHeader("If-None-Match", `a b, w/"a", W/a b`), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.1.2 If-None-Match with OWS around the stored ETag", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", " \"a\"\t"), want: true},

		// Precedence.
		{
			name:   "13.2.2 If-None-Match takes precedence over If-Modified-Since",
			req:    condHeader("If-None-Match", `"b"`, "If-Modified-Since", condLate),
			stored: condHeader("Etag", `"a"`, "Last-Modified", condEarly),
			want:   false,
		},
		{
			name:   "13.2.2 If-None-Match takes precedence over If-Modified-Since, matching",
			req:    condHeader("If-None-Match", `"a"`, "If-Modified-Since", condEarly),
			stored: condHeader("Etag", `"a"`, "Last-Modified", condLate),
			want:   true,
		},
		{
			name:   "13.2.2 If-None-Match without valid members still hides If-Modified-Since",
			req:    condHeader("If-None-Match", `garbage`, "If-Modified-Since", condLate),
			stored: condHeader("Etag", `"a"`, "Last-Modified", condEarly),
			want:   false,
		},
		{
			name:   "13.2.2 empty If-None-Match still hides If-Modified-Since",
			req:    condHeader("If-None-Match", ``, "If-Modified-Since", condLate),
			stored: condHeader("Last-Modified", condEarly),
			want:   false,
		},
		{name: "13.2.2 If-Match is forwarded", req: condHeader("If-Match", "*", "If-None-Match", "*"), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.2.2 If-Unmodified-Since is forwarded", req: condHeader("If-Unmodified-Since", condLate, "If-None-Match", `"a"`), stored: condHeader("Etag", `"a"`), want: false},
		{name: "13.2.2 If-Range is forwarded", req: condHeader("If-Range", `"a"`, "If-Modified-Since", condLate), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.2.2 no conditional", req: condHeader(), stored: condHeader("Etag", `"a"`, "Last-Modified", condEarly), want: false},

		// If-Modified-Since.
		{name: "13.1.3 modified before the date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condEarly), want: true},
		{name: "13.1.3 modified at the date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condMiddle), want: true},
		{name: "13.1.3 modified after the date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condLate), want: false},
		{name: "13.1.3 HEAD", method: http.MethodHead, req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condEarly), want: true},
		{name: "13.1.3 POST ignores it", method: http.MethodPost, req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 same instant in RFC 850 form", req: condHeader("If-Modified-Since", condMiddle850), stored: condHeader("Last-Modified", condMiddle), want: true},
		{name: "13.1.3 invalid date ignored", req: condHeader("If-Modified-Since", "yesterday"), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 invalid date ignored: UTC zone", req: condHeader("If-Modified-Since", "Tue, 01 Apr 2025 00:00:00 UTC"), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 invalid date ignored: empty", req: condHeader("If-Modified-Since", ""), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 invalid date ignored: a list of dates", req: condHeader("If-Modified-Since", condMiddle+", "+condMiddle), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 more than one member ignored, even if identical", req: condHeader("If-Modified-Since", condMiddle, "If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 future date ignored", req: condHeader("If-Modified-Since", condFuture), stored: condHeader("Last-Modified", condEarly), want: false},
		{name: "13.1.3 the current time is not in the future", req: condHeader("If-Modified-Since", condNowDate), stored: condHeader("Last-Modified", condEarly), want: true},
		{name: "13.1.3 invalid stored Last-Modified", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", "0", "Date", condEarly), want: false},
		{name: "13.1.3 stored Last-Modified lines differ", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condEarly, "Last-Modified", condLate), want: false},
		{name: "13.1.3 Last-Modified wins over Date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condLate, "Date", condEarly), want: false},

		// Date instead of Last-Modified.
		{name: "4.3.2 Date used when Last-Modified absent", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condEarly), want: true},
		{name: "4.3.2 Date used when Last-Modified absent, equal", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condMiddle), want: true},
		{name: "4.3.2 Date used when Last-Modified absent, later", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condLate), want: false},
		{name: "4.3.2 Date invalid", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", "never"), want: false},
		{name: "4.3.2 neither Last-Modified nor Date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Etag", `"a"`), want: false},
		{name: "4.3.2 Date in lowercase", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", strings.ToLower(condEarly)), want: true},

		// Entity-tags without quotes (RFC 9110 Section 8.8.3).
		{name: "8.8.3 unquoted request tag, quoted stored tag", req: condHeader("If-None-Match", `a`), stored: condHeader("Etag", `"a"`), want: true},
		{name: "8.8.3 quoted request tag, unquoted stored tag", req: condHeader("If-None-Match", `"a"`), stored: condHeader("Etag", `a`), want: true},
		{name: "8.8.3 unquoted on both sides", req: condHeader("If-None-Match", `124567`), stored: condHeader("Etag", `124567`), want: true},
		{name: "8.8.3 unquoted in a list", req: condHeader("If-None-Match", `"x", 124567, W/y`), stored: condHeader("Etag", `"124567"`), want: true},
		{name: "8.8.3 unquoted weak request tag, weak comparison", req: condHeader("If-None-Match", `W/a`), stored: condHeader("Etag", `"a"`), want: true},
		{name: "8.8.3 unquoted weak stored tag, weak comparison", req: condHeader("If-None-Match", `a`), stored: condHeader("Etag", `W/a`), want: true},
		{name: "8.8.3 unquoted, another tag", req: condHeader("If-None-Match", `a`), stored: condHeader("Etag", `"ab"`), want: false},
		{name: "8.8.3 unquoted, case matters", req: condHeader("If-None-Match", `a`), stored: condHeader("Etag", `A`), want: false},
		{name: "8.8.3 the quotes are not part of an unquoted tag", req: condHeader("If-None-Match", `"\"a\""`), stored: condHeader("Etag", `"a"`), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			assert.Equal(t, tc.want, notModified(method, tc.req, tc.stored, conditionalNow))
			// A receipt time changes nothing when the stored Date is valid
			// or Last-Modified is present.
			if _, _, dateOK := httpsyntax.HeaderDate(tc.stored, "Date", conditionalNow); dateOK || len(tc.stored.Values("Last-Modified")) > 0 {
				assert.Equal(t, tc.want, policy.NotModifiedReceived(method, tc.req, tc.stored, condLateTime, conditionalNow), "with a receipt time")
			}
		})
	}
}

// condLateTime is condLate as a time.
var condLateTime = time.Date(2025, time.May, 1, 0, 0, 0, 0, time.UTC)

func TestRFC9111_4_3_2_IfModifiedSinceAgainstDateRules(t *testing.T) {
	received := time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC) // condMiddle
	tests := []struct {
		name     string
		req      http.Header
		stored   http.Header
		received time.Time // zero: unknown
		want     bool
	}{
		{name: "4.3.2 Last-Modified first", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", condLate, "Date", condEarly), received: received, want: false},
		{name: "4.3.2 then Date", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condLate), received: received, want: false},
		{name: "4.3.2 then Date, not modified", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condEarly), received: condLateTime, want: true},
		{name: "4.3.2 then the time received, Date absent", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader(), received: received, want: true},
		{name: "4.3.2 then the time received, Date absent, received later", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader(), received: condLateTime, want: false},
		{name: "4.3.2 then the time received, Date invalid", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", "never"), received: received, want: true},
		{name: "4.3.2 then the time received, Date lines differ", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Date", condEarly, "Date", condLate), received: received, want: true},
		{name: "4.3.2 the time received, to the second", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader(), received: received.Add(999 * time.Millisecond), want: true},
		{name: "4.3.2 the time received, a second later", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader(), received: received.Add(time.Second), want: false},
		{name: "4.3.2 time received unknown", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader(), want: false},
		{name: "4.3.2 an invalid Last-Modified is not replaced", req: condHeader("If-Modified-Since", condMiddle), stored: condHeader("Last-Modified", "0"), received: received, want: false},
		{name: "4.3.2 If-None-Match decides alone", req: condHeader("If-None-Match", `"b"`, "If-Modified-Since", condMiddle), stored: condHeader("Etag", `"a"`), received: received, want: false},
		{name: "4.3.2 an invalid If-Modified-Since is ignored", req: condHeader("If-Modified-Since", "yesterday"), stored: condHeader(), received: received, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, policy.NotModifiedReceived(http.MethodGet, tc.req, tc.stored, tc.received, conditionalNow))
		})
	}
}

func TestRFC9111_4_3_2_UnionConditionalRequest(t *testing.T) {
	tests := []struct {
		name   string
		values []string    // the caller's If-None-Match field lines
		stored http.Header // the stale stored response's
		want   []string    // the If-None-Match field lines sent
	}{
		{name: "4.3.2 the stored tag is added", values: []string{`"x"`}, stored: condHeader("Etag", `"v1"`), want: []string{`"x"`, `"v1"`}},
		{name: "8.8.3 an unquoted stored tag is added as received", values: []string{`"x"`}, stored: condHeader("Etag", `124567`), want: []string{`"x"`, `124567`}},
		{name: "8.8.3 an unquoted weak stored tag is added as received", values: []string{`"x"`}, stored: condHeader("Etag", `W/abc`), want: []string{`"x"`, `W/abc`}},
		{name: "8.8.3 the stored tag is added without its OWS", values: []string{`"x"`}, stored: condHeader("Etag", " 124567\t"), want: []string{`"x"`, `124567`}},
		{name: "8.8.3 the caller's unquoted tags are kept as written", values: []string{`124567, W/abc`}, stored: condHeader("Etag", `"v1"`), want: []string{`124567, W/abc`, `"v1"`}},
		{name: "8.8.3 the caller's OWS and commas are kept", values: []string{` a ,W/b,, "c"` + "\t"}, stored: condHeader("Etag", `d`), want: []string{` a ,W/b,, "c"` + "\t", `d`}},
		{name: "8.8.3 each of the caller's field lines is kept", values: []string{`"x"`, `y`}, stored: condHeader("Etag", `z`), want: []string{`"x"`, `y`, `z`}},
		{name: "8.8.3 the caller's invalid members are kept", values: []string{`a b, "c" d, w/"e", "f`}, stored: condHeader("Etag", `"v1"`), want: []string{`a b, "c" d, w/"e", "f`, `"v1"`}},
		{name: "4.3.2 the caller has the stored tag: nothing added", values: []string{`"x", "v1"`}, stored: condHeader("Etag", `"v1"`), want: []string{`"x", "v1"`}},
		{name: "8.8.3 the caller has the unquoted stored tag as the origin sent it: nothing added", values: []string{`"x", 124567`}, stored: condHeader("Etag", `124567`), want: []string{`"x", 124567`}},
		{name: "8.8.3 the caller has the stored tag quoted: the origin's form is added", values: []string{`"124567"`}, stored: condHeader("Etag", `124567`), want: []string{`"124567"`, `124567`}},
		{name: "8.8.3 the caller has the stored tag unquoted: the origin's form is added", values: []string{`124567`}, stored: condHeader("Etag", `"124567"`), want: []string{`124567`, `"124567"`}},
		{name: "4.3.2 a weak caller tag is not the strong stored one", values: []string{`W/"v1"`}, stored: condHeader("Etag", `"v1"`), want: []string{`W/"v1"`, `"v1"`}},
		{name: "13.1.2 star already asks about every representation", values: []string{`*`}, stored: condHeader("Etag", `124567`), want: []string{`*`}},
		{name: "8.8.3 an invalid stored ETag is not added", values: []string{`"x"`}, stored: condHeader("Etag", `a b`), want: []string{`"x"`}},
		{name: "4.3.2 differing stored ETag lines are not added", values: []string{`"x"`}, stored: condHeader("Etag", `a`, "Etag", `b`), want: []string{`"x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://example.com/", nil)
			require.NoError(t, err)
			req.Header["If-None-Match"] = tc.values
			req.Header.Set("Accept", "text/plain")
			before := req.Header.Clone()
			out := unionConditionalRequest(req, tc.stored)
			require.NotSame(t, req, out, "a clone")
			assert.Equal(t, tc.want, out.Header["If-None-Match"], "the If-None-Match the origin would see")
			assert.Equal(t, "text/plain", out.Header.Get("Accept"))
			assert.Equal(t, before, req.Header, "the caller's request was modified")
		})
	}

	// A field name not in canonical form, as a caller may set it, goes out
	// as it is; the stored tag is a line of the canonical name, which the
	// origin reads as the same field.
	req, err := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	require.NoError(t, err)
	lower := strings.ToLower("If-None-Match")
	req.Header[lower] = []string{`c, W/d`}
	before := req.Header.Clone()
	out := unionConditionalRequest(req, condHeader("Etag", `124567`))
	assert.Equal(t, []string{`c, W/d`}, out.Header[lower], "the caller's unquoted tags were changed")
	assert.Equal(t, []string{`124567`}, out.Header["If-None-Match"])
	assert.Equal(t, before, req.Header, "the caller's request was modified")
}

func FuzzUnionConditionalRequest(f *testing.F) {
	// Seeds: lists and tags of the entity-tag grammar's tables in
	// internal/httpsyntax, quoted, unquoted, weak and malformed.
	for _, seed := range [][3]string{
		{"", "", `"a"`}, {`"a", W/"b"`, "", `124567`}, {`*`, "", `"x"`}, {`"a"`, `W/"b", "c"`, `W/abc`},
		{`"x", 124567`, "", `124567`}, {`"x", W/"y"`, "", `W/"y"`}, {`"x", "a""b"`, "", `"a""b"`}, {`"x", W/`, "", `W/`},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, line1, line2, etag string) {
		req, err := http.NewRequest(http.MethodGet, "http://example.com/", nil)
		require.NoError(t, err)
		values := []string{line1, line2}
		req.Header["If-None-Match"] = slices.Clone(values)
		stored := condHeader("Etag", etag)
		before := req.Header.Clone()
		out := unionConditionalRequest(req, stored)
		require.Equal(t, before, req.Header, "the caller's request was modified")
		require.NotSame(t, req, out)

		// The caller's lines go out as they are, then at most the stored
		// tag, exactly as the origin sent it.
		got := out.Header["If-None-Match"]
		require.GreaterOrEqual(t, len(got), len(values))
		require.Equal(t, values, got[:len(values)], "the caller's If-None-Match was changed")
		own, ok := httpsyntax.ETagAsReceived(stored)
		_, any := httpsyntax.ParseETagList(values)
		has := slices.Contains(slices.Collect(httpsyntax.ETagListMembers(values)), own)
		if !ok || any || has {
			require.Len(t, got, len(values), "union of %q and ETag %q", values, etag)
			return
		}
		require.Equal(t, []string{own}, got[len(values):], "union of %q and ETag %q", values, etag)
		require.Equal(t, httpsyntax.TrimOWS(etag), own)
		// The added tag is read as the stored one, so a 304 for it selects
		// the stored response.
		tag, _, _ := httpsyntax.HeaderETag(stored)
		gotTags, _ := httpsyntax.ParseETagList(got)
		require.NotEmpty(t, gotTags)
		require.Equal(t, tag, gotTags[len(gotTags)-1])
	})
}

// TestRFC9110_8_8_3_UnquotedETagGoesBackAsReceived: an origin that sends its
// entity-tags without quotes (`ETag: 124567`, invalid but common) compares
// If-None-Match with what it sent byte for byte. The cache sends its stored
// tag back exactly so, forwards a caller's If-None-Match as the caller wrote
// it, and in the union of both keeps each tag in its own form, so the origin
// answers 304 instead of the whole body. The caller's request is never
// modified.
func TestRFC9110_8_8_3_UnquotedETagGoesBackAsReceived(t *testing.T) {
	t.Parallel()
	type request struct {
		after  time.Duration
		inm    string // the caller's If-None-Match, if any
		status int    // want
		body   string // want, for a 200
		hit    bool   // want
	}
	tests := []struct {
		name       string
		etag       string // the origin's ETag, compared as a string
		requests   []request
		wantSent   [][]string // the If-None-Match lines of each request the origin saw
		wantOrigin int64
	}{
		{
			name: "8.8.3 a stale response with an unquoted ETag is revalidated with the tag as received",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"}, // the origin's 304
				{after: 30 * time.Second, status: 200, body: "body 1", hit: true},
			},
			wantSent:   [][]string{nil, {`124567`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 an unquoted weak ETag is revalidated with the tag as received",
			etag: `W/abc`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
				{after: 30 * time.Second, status: 200, body: "body 1", hit: true},
			},
			wantSent:   [][]string{nil, {`W/abc`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 a quoted ETag is revalidated as received too",
			etag: `"124567"`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
			},
			wantSent:   [][]string{nil, {`"124567"`}},
			wantOrigin: 2,
		},
		{
			name: "4.3.2 a caller's unquoted If-None-Match reaches the origin unchanged",
			etag: `124567`,
			requests: []request{
				{inm: `124567`, status: http.StatusNotModified},
			},
			wantSent:   [][]string{{`124567`}},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's list of unquoted tags reaches the origin unchanged",
			etag: `124567`,
			requests: []request{
				{inm: `W/abc,124567`, status: http.StatusNotModified},
			},
			wantSent:   [][]string{{`W/abc,124567`}},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 the union of a caller's quoted tag and the cache's unquoted one keeps each form",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				// The origin's 304 is for the cache's tag: the stored
				// response is fresh again and answers the caller.
				{after: 2 * time.Minute, inm: `"x"`, status: 200, body: "body 1"},
				{after: 30 * time.Second, status: 200, body: "body 1", hit: true},
			},
			wantSent:   [][]string{nil, {`"x"`, `124567`}},
			wantOrigin: 2,
		},
		{
			name: "4.3.2 the union of a caller's unquoted tag and the cache's unquoted one keeps each form",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, inm: `x`, status: 200, body: "body 1"},
			},
			wantSent:   [][]string{nil, {`x`, `124567`}},
			wantOrigin: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			var (
				mu   sync.Mutex
				sent [][]string
			)
			var o *testOrigin
			o = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				inm := r.Header.Values("If-None-Match")
				mu.Lock()
				sent = append(sent, slices.Clone(inm))
				mu.Unlock()
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Etag", tc.etag)
				// Like the origins that leave out the quotes: a member of
				// the list is compared with the tag as a string.
				for _, member := range strings.Split(strings.Join(inm, ","), ",") {
					if strings.Trim(member, " \t") == tc.etag {
						w.WriteHeader(http.StatusNotModified)
						return
					}
				}
				fmt.Fprintf(w, "body %d", o.hits.Load())
			})
			tr := newTestTransport(clock)
			for i, r := range tc.requests {
				clock.Advance(r.after)
				req, err := http.NewRequest(http.MethodGet, o.URL+"/r", nil)
				require.NoError(t, err)
				if r.inm != "" {
					req.Header.Set("If-None-Match", r.inm)
				}
				before := req.Header.Clone()
				resp, err := tr.RoundTrip(req)
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, before, req.Header, "request %d: the caller's request was modified", i)
				assert.Equal(t, r.status, resp.StatusCode, "request %d: status; Cache-Status %q", i, resp.Header["Cache-Status"])
				if r.status == http.StatusOK {
					assert.Equal(t, r.body, string(body), "request %d: the caller got another body than the stored one", i)
				}
				assert.Equal(t, r.hit, isHit(resp), "request %d: hit; Cache-Status %q", i, resp.Header["Cache-Status"])
			}
			assert.Equal(t, tc.wantOrigin, o.hits.Load(), "requests that reached the origin")
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tc.wantSent, sent, "the If-None-Match of each request the origin saw")
		})
	}
}

func TestConditionalFieldPresence(t *testing.T) {
	tests := []struct {
		name                        string
		h                           http.Header
		cacheConditionals, precondi bool
	}{
		{name: "none", h: condHeader("Cache-Control", "no-cache")},
		{name: "nil header", h: nil},
		{name: "If-None-Match", h: condHeader("If-None-Match", `"a"`), cacheConditionals: true},
		{name: "If-None-Match empty", h: condHeader("If-None-Match", ""), cacheConditionals: true},
		{name: "If-Modified-Since", h: condHeader("If-Modified-Since", condEarly), cacheConditionals: true},
		{name: "If-Match", h: condHeader("If-Match", `"a"`), precondi: true},
		{name: "If-Unmodified-Since", h: condHeader("If-Unmodified-Since", condEarly), precondi: true},
		{name: "If-Range", h: condHeader("If-Range", `"a"`), precondi: true},
		{name: "both kinds", h: condHeader("If-Range", `"a"`, "If-None-Match", "*"), cacheConditionals: true, precondi: true},
		{name: "non-canonical names added with Add", h: condHeader("if-none-match", "*", "IF-MATCH", "*"), cacheConditionals: true, precondi: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := scanRequestFields(tc.h)
			assert.Equal(t, tc.cacheConditionals, f.conditionals, "conditionals")
			assert.Equal(t, tc.precondi, f.preconditions, "preconditions")
		})
	}
}

func TestRFC9111_4_3_1_ConditionalValidatorsFor(t *testing.T) {
	tests := []struct {
		name   string
		stored http.Header
		want   http.Header
	}{
		{
			name:   "both validators",
			stored: condHeader("Etag", `"a"`, "Last-Modified", condEarly),
			want:   condHeader("If-None-Match", `"a"`, "If-Modified-Since", condEarly),
		},
		{name: "ETag only", stored: condHeader("Etag", `W/"a,b"`), want: condHeader("If-None-Match", `W/"a,b"`)},
		{name: "Last-Modified only", stored: condHeader("Last-Modified", condEarly), want: condHeader("If-Modified-Since", condEarly)},
		{name: "neither", stored: condHeader("Date", condEarly), want: condHeader()},
		{name: "nil header", stored: nil, want: condHeader()},
		{name: "invalid Last-Modified", stored: condHeader("Etag", `"a"`, "Last-Modified", "0"), want: condHeader("If-None-Match", `"a"`)},
		{name: "invalid Last-Modified only", stored: condHeader("Last-Modified", "Tue, 01 Apr 2025 00:00:00 UTC"), want: condHeader()},
		{name: "invalid ETag", stored: condHeader("Etag", `x y`, "Last-Modified", condEarly), want: condHeader("If-Modified-Since", condEarly)},
		{name: "8.8.3 unquoted ETag sent as received", stored: condHeader("Etag", `124567`), want: condHeader("If-None-Match", `124567`)},
		{name: "8.8.3 unquoted weak ETag sent as received", stored: condHeader("Etag", `W/abc`), want: condHeader("If-None-Match", `W/abc`)},
		{name: "8.8.3 unquoted ETag with OWS sent as received, without the OWS", stored: condHeader("Etag", " 124567\t", "Last-Modified", condEarly), want: condHeader("If-None-Match", `124567`, "If-Modified-Since", condEarly)},
		{name: "8.8.3 unquoted ETag with a backslash and obs-text sent as received", stored: condHeader("Etag", "a\\b\xe9"), want: condHeader("If-None-Match", "a\\b\xe9")},
		{name: "8.8.3 unquoted ETag with a comma is invalid", stored: condHeader("Etag", `a,b`), want: condHeader()},
		{name: "lowercase w/ ETag", stored: condHeader("Etag", `w/"a"`), want: condHeader()},
		{name: "ETag lines differ", stored: condHeader("Etag", `"a"`, "Etag", `"b"`), want: condHeader()},
		{name: "ETag lines repeated", stored: condHeader("Etag", `"a"`, "Etag", `"a"`), want: condHeader("If-None-Match", `"a"`)},
		{name: "Last-Modified lines differ", stored: condHeader("Last-Modified", condEarly, "Last-Modified", condLate), want: condHeader()},
		{name: "OWS dropped", stored: condHeader("Etag", " \"a\"\t", "Last-Modified", "\t"+condEarly+" "), want: condHeader("If-None-Match", `"a"`, "If-Modified-Since", condEarly)},
		{
			name:   "IMF-fixdate kept exactly, even with the wrong day-name",
			stored: condHeader("Last-Modified", "Mon, 01 Apr 2025 00:00:00 GMT"),
			want:   condHeader("If-Modified-Since", "Mon, 01 Apr 2025 00:00:00 GMT"),
		},
		{name: "RFC 850 date rewritten as IMF-fixdate", stored: condHeader("Last-Modified", condMiddle850), want: condHeader("If-Modified-Since", condMiddle)},
		{name: "asctime date rewritten as IMF-fixdate", stored: condHeader("Last-Modified", "Tue Apr  1 00:00:00 2025"), want: condHeader("If-Modified-Since", condMiddle)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := policy.ValidatorsFor(tc.stored, time.Now())
			require.NotNil(t, got)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRFC9111_4_3_4_ConditionalMatches304(t *testing.T) {
	tests := []struct {
		name           string
		resp304, store http.Header
		want           bool
	}{
		{name: "4.3.4 strong validator selects", resp304: condHeader("Etag", `"a"`), store: condHeader("Etag", `"a"`), want: true},
		{name: "4.3.4 strong validator selects, not a weak stored tag", resp304: condHeader("Etag", `"a"`), store: condHeader("Etag", `W/"a"`), want: false},
		{name: "4.3.4 strong validator selects, not another tag", resp304: condHeader("Etag", `"a"`), store: condHeader("Etag", `"b"`), want: false},
		{name: "4.3.4 strong validator selects, not a response without ETag", resp304: condHeader("Etag", `"a"`), store: condHeader("Last-Modified", condEarly), want: false},
		{name: "4.3.4 strong validator selects, not an invalid stored ETag", resp304: condHeader("Etag", `"a"`), store: condHeader("Etag", `a b`), want: false},
		{
			name:    "4.3.4 strong validator selects, Last-Modified not consulted",
			resp304: condHeader("Etag", `"a"`, "Last-Modified", condLate),
			store:   condHeader("Etag", `"a"`, "Last-Modified", condEarly),
			want:    true,
		},

		{name: "4.3.4 weak validator selects", resp304: condHeader("Etag", `W/"a"`), store: condHeader("Etag", `W/"a"`), want: true},
		{name: "4.3.4 weak validator selects a strong stored tag", resp304: condHeader("Etag", `W/"a"`), store: condHeader("Etag", `"a"`), want: true},
		{name: "4.3.4 weak validator selects, not another tag", resp304: condHeader("Etag", `W/"a"`), store: condHeader("Etag", `W/"b"`), want: false},
		{name: "4.3.4 weak validator selects, not a response without ETag", resp304: condHeader("Etag", `W/"a"`), store: condHeader(), want: false},
		{name: "4.3.4 weak validator selects: Last-Modified", resp304: condHeader("Last-Modified", condEarly), store: condHeader("Last-Modified", condEarly), want: true},
		{name: "4.3.4 weak validator selects: Last-Modified, same instant spelled differently", resp304: condHeader("Last-Modified", condMiddle850), store: condHeader("Last-Modified", condMiddle), want: true},
		{name: "4.3.4 weak validator selects: Last-Modified, not another date", resp304: condHeader("Last-Modified", condEarly), store: condHeader("Last-Modified", condLate), want: false},
		{name: "4.3.4 weak validator selects: Last-Modified, not a response without it", resp304: condHeader("Last-Modified", condEarly), store: condHeader("Etag", `"a"`), want: false},
		{name: "4.3.4 weak validator selects: Last-Modified, not an invalid stored one", resp304: condHeader("Last-Modified", condEarly), store: condHeader("Last-Modified", "0"), want: false},
		{
			name:    "4.3.4 weak validator selects: weak ETag and Last-Modified both match",
			resp304: condHeader("Etag", `W/"a"`, "Last-Modified", condEarly),
			store:   condHeader("Etag", `W/"a"`, "Last-Modified", condEarly),
			want:    true,
		},
		{
			name:    "4.3.4 weak validator selects: weak ETag matches, Last-Modified does not",
			resp304: condHeader("Etag", `W/"a"`, "Last-Modified", condEarly),
			store:   condHeader("Etag", `W/"a"`, "Last-Modified", condLate),
			want:    false,
		},
		{
			name:    "4.3.4 weak validator selects: Last-Modified matches, weak ETag does not",
			resp304: condHeader("Etag", `W/"a"`, "Last-Modified", condEarly),
			store:   condHeader("Etag", `W/"b"`, "Last-Modified", condEarly),
			want:    false,
		},

		{name: "4.3.4 no validator", resp304: condHeader("Date", condLate), store: condHeader("Date", condEarly), want: true},
		{name: "4.3.4 no validator, nil headers", resp304: nil, store: nil, want: true},
		{name: "4.3.4 no validator, stored ETag", resp304: condHeader(), store: condHeader("Etag", `"a"`), want: false},
		{name: "4.3.4 no validator, stored Last-Modified", resp304: condHeader(), store: condHeader("Last-Modified", condEarly), want: false},
		{name: "4.3.4 no validator, stored invalid ETag still a field", resp304: condHeader(), store: condHeader("Etag", `a`), want: false},

		{name: "8.8.3 unquoted strong validator selects a quoted stored tag", resp304: condHeader("Etag", `124567`), store: condHeader("Etag", `"124567"`), want: true},
		{name: "8.8.3 quoted strong validator selects an unquoted stored tag", resp304: condHeader("Etag", `"124567"`), store: condHeader("Etag", `124567`), want: true},
		{name: "8.8.3 unquoted strong validator selects an unquoted stored tag", resp304: condHeader("Etag", `124567`), store: condHeader("Etag", `124567`), want: true},
		{name: "8.8.3 unquoted strong validator selects, not a weak stored tag", resp304: condHeader("Etag", `124567`), store: condHeader("Etag", `W/124567`), want: false},
		{name: "8.8.3 unquoted strong validator selects, not another tag", resp304: condHeader("Etag", `999`), store: condHeader("Etag", `124567`), want: false},
		{name: "8.8.3 unquoted weak validator selects a strong stored tag", resp304: condHeader("Etag", `W/124567`), store: condHeader("Etag", `124567`), want: true},
		{name: "4.3.4 invalid ETag in the 304", resp304: condHeader("Etag", `a b`), store: condHeader("Etag", `a b`), want: false},
		{name: "4.3.4 lowercase w/ in the 304", resp304: condHeader("Etag", `w/"a"`), store: condHeader("Etag", `"a"`), want: false},
		{name: "4.3.4 differing ETag lines in the 304", resp304: condHeader("Etag", `"a"`, "Etag", `"b"`), store: condHeader("Etag", `"a"`), want: false},
		{name: "4.3.4 invalid Last-Modified in the 304", resp304: condHeader("Last-Modified", "0"), store: condHeader(), want: false},
		{
			name:    "4.3.4 invalid Last-Modified in the 304 beside a weak ETag",
			resp304: condHeader("Etag", `W/"a"`, "Last-Modified", "0"),
			store:   condHeader("Etag", `W/"a"`),
			want:    false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, policy.Matches304(tc.resp304, tc.store, conditionalNow))
		})
	}
}

func FuzzConditional(f *testing.F) {
	f.Add(`"a"`, condMiddle, `"a"`, condEarly, condLate)
	f.Add("*", condFuture, `W/"a,b"`, condMiddle850, "")
	f.Add(`w/"a", "b"`, "0", `"unterminated`, "Tue Apr  1 00:00:00 2025", "never")
	f.Add("", "", "", "", "")
	f.Add(`124567`, condMiddle, `124567`, condEarly, condLate) // 8.8.3: sent back unquoted
	f.Add(`"abc"`, "", " W/abc	", "", condEarly)
	f.Fuzz(func(t *testing.T, inm, ims, etag, lastModified, date string) {
		req := make(http.Header)
		if inm != "" {
			req.Set("If-None-Match", inm)
		}
		if ims != "" {
			req.Set("If-Modified-Since", ims)
		}
		stored := make(http.Header)
		if etag != "" {
			stored.Set("Etag", etag)
		}
		if lastModified != "" {
			stored.Set("Last-Modified", lastModified)
		}
		if date != "" {
			stored.Set("Date", date)
		}

		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			got := notModified(method, req, stored, conditionalNow)
			require.Equal(t, got, notModified(method, req, stored, conditionalNow), "deterministic")
			if method == http.MethodPost {
				require.False(t, got, "POST answered 304")
			}
		}
		_ = scanRequestFields(req)

		// The validators the cache sends are valid, and a request carrying
		// them is answered 304 from the response they came from.
		v := policy.ValidatorsFor(stored, time.Now())
		if s := v.Get("If-None-Match"); s != "" {
			_, ok := httpsyntax.ParseETag(s)
			require.True(t, ok, "If-None-Match %q", s)
			require.Equal(t, httpsyntax.TrimOWS(etag), s, "If-None-Match %q is not the stored ETag as received", s)
		}
		if s := v.Get("If-Modified-Since"); s != "" {
			// validatorsFor reads an RFC 850 year at the real current time.
			now := time.Now()
			tm, ok := httpsyntax.ParseHTTPDate(s, now)
			require.True(t, ok, "If-Modified-Since %q", s)
			require.Len(t, s, httpsyntax.IMFFixdateLen)
			if !tm.After(now) && v.Get("If-None-Match") == "" {
				require.True(t, notModified(http.MethodGet, v, stored, now), "own If-Modified-Since %q", s)
			}
		}
		if v.Get("If-None-Match") != "" {
			require.True(t, notModified(http.MethodGet, v, stored, conditionalNow), "own validators %v", v)
		}

		// A stored response with valid (or no) validators matches a 304
		// carrying the same fields.
		_, hasTag, tagOK := httpsyntax.HeaderETag(stored)
		_, hasLM, lmOK := httpsyntax.HeaderDate(stored, "Last-Modified", conditionalNow)
		if (!hasTag || tagOK) && (!hasLM || lmOK) {
			require.True(t, policy.Matches304(stored, stored, conditionalNow), "stored %v does not match itself", stored)
		}
		_ = policy.Matches304(req, stored, conditionalNow)
	})
}

// notModified is notModifiedReceived for a stored response whose receipt
// time is unknown: without a valid Date, If-Modified-Since then has nothing
// to compare against.
func notModified(method string, reqHeader, stored http.Header, now time.Time) bool {
	return policy.NotModifiedReceived(method, reqHeader, stored, time.Time{}, now)
}
