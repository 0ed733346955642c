package acache

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file holds the end-to-end tests of three things RFC 9110 and RFC 9111
// say a cache SHOULD (or may) do beyond the letter of the grammar: read
// HTTP-dates in any case (RFC 9111 Section 4.2), revalidate with entity-tags
// an origin sent without quotes (RFC 9110 Section 8.8.3), and answer a
// caller's If-Modified-Since from the stored Date when there is no
// Last-Modified (RFC 9111 Section 4.3.2).

func TestRFC9110_5_6_7_HTTPDateCase(t *testing.T) {
	t.Parallel()
	t.Run("every name in any case", func(t *testing.T) {
		t.Parallel()
		for m := time.January; m <= time.December; m++ {
			for day := 1; day <= 7; day++ { // a week: every day-name
				want := utc(2023, m, day, 1, 2, 3)
				for _, layout := range []string{http.TimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", time.ANSIC} {
					canonical := want.Format(layout)
					for _, in := range []string{canonical, toLowerASCII(canonical), toUpperASCII(canonical)} {
						got, ok := httpsyntax.ParseHTTPDate(in, httpDateNow)
						require.True(t, ok, "parseHTTPDateAt(%q)", in)
						assert.True(t, want.Equal(got), "parseHTTPDateAt(%q) = %v, want %v", in, got, want)
					}
				}
			}
		}
	})

	// The first five are fresh for decades, the others expired at once.
	fresh := []probe{{}, {after: time.Hour, hit: true}}
	expired := []probe{{}, {after: time.Second}}
	cases := []rfcCase{
		{name: "5.6.7 Expires in lowercase keeps a response fresh", header: hdr("Expires", "sun, 06 nov 2050 08:49:37 gmt")},
		{name: "5.6.7 Expires in uppercase keeps a response fresh", header: hdr("Expires", "SUN, 06 NOV 2050 08:49:37 GMT")},
		{name: "5.6.7 Expires with lowercase gmt keeps a response fresh", header: hdr("Expires", "Sun, 06 Nov 2050 08:49:37 gmt")},
		{name: "5.6.7 Expires in RFC 850 form in lowercase", header: hdr("Expires", "sunday, 06-nov-50 08:49:37 gmt")},
		{name: "5.6.7 Expires in asctime form in lowercase", header: hdr("Expires", "sun nov  6 08:49:37 2050")},
		{name: "5.6.7 Expires with UTC is still expired", header: hdr("Expires", "Sun, 06 Nov 2050 08:49:37 UTC")},
		{name: "5.6.7 Expires with utc in a lowercase date is still expired", header: hdr("Expires", "sun, 06 nov 2050 08:49:37 utc")},
		{name: "5.6.7 Expires with +0000 is still expired", header: hdr("Expires", "Sun, 06 Nov 2050 08:49:37 +0000")},
		{name: "5.6.7 Expires with a double space in a lowercase date is still expired", header: hdr("Expires", "sun, 06 nov 2050  08:49:37 gmt")},
		{name: "5.6.7 Expires with a one-digit hour in a lowercase date is still expired", header: hdr("Expires", "sun, 06 nov 2050 8:49:37 gmt")},
	}
	for i := range cases {
		if i < 5 {
			cases[i].probes = fresh
		} else {
			cases[i].probes = expired
		}
	}
	cases = append(cases,
		rfcCase{
			// A lowercase Last-Modified gives a heuristic lifetime: 10% of
			// the 10 days since is a day.
			name:   "5.6.7 Last-Modified in lowercase gives a heuristic freshness",
			header: hdr("Last-Modified", toLowerASCII(at(-10*24*time.Hour))),
			probes: []probe{{}, {after: 23 * time.Hour, hit: true}},
		},
		rfcCase{
			name:   "5.6.7 Date in lowercase is the date of the response",
			header: hdr("Date", toLowerASCII(at(-30*time.Second)), "Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 20 * time.Second, hit: true}, {after: 20 * time.Second}},
		},
	)
	t.Run("end to end", func(t *testing.T) {
		t.Parallel()
		runRFCCases(t, cases)
	})
}

// toLowerASCII and toUpperASCII change the case of ASCII letters only.
func toLowerASCII(s string) string { return mapASCII(s, 'A', 'Z', 'a'-'A') }
func toUpperASCII(s string) string { return mapASCII(s, 'a', 'z', 'A'-'a') }

func mapASCII(s string, lo, hi byte, delta int) string {
	b := []byte(s)
	for i, c := range b {
		if c >= lo && c <= hi {
			b[i] = byte(int(c) + delta)
		}
	}
	return string(b)
}

// etagOrigin is an origin whose response carries the ETag etag and
// Cache-Control cc. It answers 304 with the ETag etag304 to a request whose
// If-None-Match is exactly ifNoneMatch304, and records every If-None-Match it
// receives.
type etagOrigin struct {
	*testOrigin
	mu  sync.Mutex
	inm [][]string // each request's If-None-Match lines, nil when absent
}

func newETagOrigin(t *testing.T, clock *testClock, etag, cc, ifNoneMatch304, etag304 string) *etagOrigin {
	o := &etagOrigin{}
	o.testOrigin = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.inm = append(o.inm, r.Header.Values("If-None-Match"))
		o.mu.Unlock()
		w.Header().Set("Cache-Control", cc)
		if ifNoneMatch304 != "" && r.Header.Get("If-None-Match") == ifNoneMatch304 {
			if etag304 != "" {
				w.Header().Set("Etag", etag304)
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if etag != "" {
			w.Header().Set("Etag", etag)
		}
		fmt.Fprintf(w, "body %d", o.hits.Load())
	})
	return o
}

// received returns the If-None-Match lines of each request the origin saw.
func (o *etagOrigin) received() [][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([][]string(nil), o.inm...)
}

func TestRFC9110_8_8_3_UnquotedETag(t *testing.T) {
	t.Parallel()
	type request struct {
		after  time.Duration
		header http.Header
		status int    // want
		body   string // want, for a 200
		hit    bool   // want
	}
	tests := []struct {
		name       string
		etag       string // the origin's ETag
		cc         string // the origin's Cache-Control; max-age=60 if empty
		inm304     string // the If-None-Match the origin answers 304 to
		etag304    string // the ETag of that 304
		requests   []request
		wantInm    [][]string // the If-None-Match of each request the origin saw
		wantOrigin int64
	}{
		{
			name: "8.8.3 a stale response with an unquoted ETag is revalidated with it as received; the 304 repeats it",
			etag: `124567`, inm304: `124567`, etag304: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
				{after: 30 * time.Second, status: 200, body: "body 1", hit: true},
			},
			wantInm:    [][]string{nil, {`124567`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 a 304 may quote the tag the stored response did not",
			etag: `124567`, inm304: `124567`, etag304: `"124567"`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
				{after: 30 * time.Second, status: 200, body: "body 1", hit: true},
			},
			wantInm:    [][]string{nil, {`124567`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 a 304 may leave out the quotes of a stored quoted tag",
			etag: `"124567"`, inm304: `"124567"`, etag304: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
			},
			wantInm:    [][]string{nil, {`"124567"`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 an unquoted weak ETag is revalidated with it as received",
			etag: `W/abc`, inm304: `W/abc`, etag304: `W/abc`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 1"},
			},
			wantInm:    [][]string{nil, {`W/abc`}},
			wantOrigin: 2,
		},
		{
			name: "8.8.3 no-cache with an unquoted ETag: every use is a 304",
			etag: `v1`, cc: "no-cache", inm304: `v1`, etag304: `v1`,
			requests: []request{
				{status: 200, body: "body 1"},
				{status: 200, body: "body 1"},
				{status: 200, body: "body 1"},
			},
			wantInm:    [][]string{nil, {`v1`}, {`v1`}},
			wantOrigin: 3,
		},
		{
			name: "4.3.4 a 304 with another unquoted tag does not select the stored response",
			etag: `124567`, inm304: `124567`, etag304: `999`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 3"},
			},
			wantInm:    [][]string{nil, {`124567`}, nil},
			wantOrigin: 3,
		},
		{
			name: "8.8.3 an ETag with a space is no entity-tag: no validator is sent",
			etag: `a b`, inm304: `"a b"`, etag304: `a b`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: 2 * time.Minute, status: 200, body: "body 2"},
			},
			wantInm:    [][]string{nil, nil},
			wantOrigin: 2,
		},
		{
			name: "4.3.2 a caller's unquoted If-None-Match matches a fresh stored quoted ETag",
			etag: `"124567"`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: time.Second, header: hdr("If-None-Match", `124567`), status: http.StatusNotModified, hit: true},
			},
			wantInm:    [][]string{nil},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's quoted If-None-Match matches a fresh stored unquoted ETag",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: time.Second, header: hdr("If-None-Match", `"124567"`), status: http.StatusNotModified, hit: true},
			},
			wantInm:    [][]string{nil},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's unquoted If-None-Match matches a fresh stored unquoted ETag",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: time.Second, header: hdr("If-None-Match", `"x", 124567`), status: http.StatusNotModified, hit: true},
			},
			wantInm:    [][]string{nil},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's unquoted If-None-Match that does not match gets the stored response",
			etag: `124567`,
			requests: []request{
				{status: 200, body: "body 1"},
				{after: time.Second, header: hdr("If-None-Match", `1245678`), status: 200, body: "body 1", hit: true},
			},
			wantInm:    [][]string{nil},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's unquoted If-None-Match is forwarded as it is",
			etag: `124567`, inm304: `124567, W/abc`, etag304: `124567`,
			requests: []request{
				{header: hdr("If-None-Match", `124567, W/abc`), status: http.StatusNotModified},
			},
			wantInm:    [][]string{{`124567, W/abc`}},
			wantOrigin: 1,
		},
		{
			name: "4.3.2 a caller's quoted If-None-Match is forwarded as it is",
			etag: `"124567"`, inm304: `"124567",W/"abc"`, etag304: `"124567"`,
			requests: []request{
				{header: hdr("If-None-Match", `"124567",W/"abc"`), status: http.StatusNotModified},
			},
			wantInm:    [][]string{{`"124567",W/"abc"`}},
			wantOrigin: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newETagOrigin(t, clock, tc.etag, orDefault(tc.cc, "max-age=60"), tc.inm304, tc.etag304)
			tr := newTestTransport(clock)
			for i, r := range tc.requests {
				clock.Advance(r.after)
				resp, body := fetch(t, tr, http.MethodGet, o.URL+"/r", r.header)
				assert.Equal(t, r.status, resp.StatusCode, "request %d: status; Cache-Status %q", i, resp.Header["Cache-Status"])
				if r.status == http.StatusOK {
					assert.Equal(t, r.body, body, "request %d: the caller got another body", i)
				}
				assert.Equal(t, r.hit, isHit(resp), "request %d: hit; Cache-Status %q", i, resp.Header["Cache-Status"])
			}
			assert.Equal(t, tc.wantOrigin, o.hits.Load(), "requests that reached the origin")
			assert.Equal(t, tc.wantInm, o.received(), "the If-None-Match of each request the origin saw")
		})
	}
}

func TestRFC9111_4_3_2_IfModifiedSinceAgainstDate(t *testing.T) {
	t.Parallel()
	notModifiedFromCache := func(after time.Duration, ims string) probe {
		return probe{after: after, header: hdr("If-Modified-Since", ims), hit: true, status: http.StatusNotModified}
	}
	fullFromCache := func(after time.Duration, ims string) probe {
		return probe{after: after, header: hdr("If-Modified-Since", ims), hit: true, status: http.StatusOK}
	}
	cases := []rfcCase{
		{
			name:   "4.3.2 no Last-Modified: a date at the stored Date is not modified",
			header: hdr("Cache-Control", "max-age=3600"),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(0))},
		},
		{
			name:   "4.3.2 no Last-Modified: a date after the stored Date is not modified",
			header: hdr("Cache-Control", "max-age=3600"),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(30*time.Second))},
		},
		{
			name:   "4.3.2 no Last-Modified: a date before the stored Date gets the stored response",
			header: hdr("Cache-Control", "max-age=3600"),
			probes: []probe{{}, fullFromCache(time.Minute, at(-time.Second))},
		},
		{
			name:   "4.3.2 no Last-Modified: the stored Date, not the time it was received",
			header: hdr("Cache-Control", "max-age=3600", "Date", at(-10*time.Minute)),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(-5*time.Minute))},
		},
		{
			name:   "4.3.2 no Last-Modified: a lowercase Date is read",
			header: hdr("Cache-Control", "max-age=3600", "Date", toLowerASCII(at(-10*time.Minute))),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(-5*time.Minute))},
		},
		{
			name:   "4.3.2 no Last-Modified and no Date: the time the response was received",
			header: hdr("Cache-Control", "max-age=3600", "Date", ""),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(0)), fullFromCache(0, at(-time.Second))},
		},
		{
			name:   "4.3.2 Last-Modified wins over Date",
			header: hdr("Cache-Control", "max-age=3600", "Last-Modified", at(-time.Hour)),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(-30*time.Minute)), fullFromCache(0, at(-2*time.Hour))},
		},
		{
			name:   "4.3.2 an invalid Last-Modified is no date: the stored response",
			header: hdr("Cache-Control", "max-age=3600", "Last-Modified", "0"),
			probes: []probe{{}, fullFromCache(time.Minute, at(0))},
		},
		{
			name:   "4.3.2 a stale response: the caller's If-Modified-Since goes to the origin",
			header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 2 * time.Minute, header: hdr("If-Modified-Since", at(0)), status: http.StatusOK}},
		},
	}
	t.Run("end to end", func(t *testing.T) {
		t.Parallel()
		runRFCCases(t, cases)
	})
	t.Run("4.3.2 no Last-Modified and an invalid Date: the time the response was received", func(t *testing.T) {
		t.Parallel()
		runRFCCases(t, []rfcCase{{
			name:   "invalid Date",
			header: hdr("Cache-Control", "max-age=3600", "Date", "garbage"),
			probes: []probe{{}, notModifiedFromCache(time.Minute, at(0)), fullFromCache(0, at(-time.Second))},
		}})
	})
}

// TestRFC9111_4_3_2_CacheAddsItsOwnEntityTag: a stale stored response meets a
// caller's own If-None-Match: the cache sends the union of the caller's tags
// and its own, and a 304 for its own tag freshens the stored response, which
// answers the caller (a 200, or a 304 when the caller's tags select it).
func TestRFC9111_4_3_2_CacheAddsItsOwnEntityTag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		callerINM  string // the caller's If-None-Match
		callerIMS  bool   // the caller sends If-Modified-Since instead
		originAt   int    // the origin's version when the caller asks
		wantSent   string // the If-None-Match the origin sees
		wantStatus int
		wantBody   string
		freshened  bool // the stored response is fresh again afterwards
	}{
		{"4.3.2 the caller's old tag: the cache's tag gets a 304, the caller a 200 from the cache",
			`"v0"`, false, 1, `"v0", "v1"`, http.StatusOK, "version 1", true},
		{"4.3.2 the caller's tag is the stored one: the caller gets a 304",
			`"v1"`, false, 1, `"v1"`, http.StatusNotModified, "", true},
		{"4.3.2 an unquoted caller tag goes in the union as the caller wrote it",
			`v0`, false, 1, `v0, "v1"`, http.StatusOK, "version 1", true},
		{"4.3.2 the caller has a newer version than the cache: the origin's 304 is the caller's",
			`"v2"`, false, 2, `"v2", "v1"`, http.StatusNotModified, "", false},
		{"4.3.2 a new version: the origin's 200 goes to the caller and is stored",
			`"v0"`, false, 2, `"v0", "v1"`, http.StatusOK, "version 2", true},
		{"4.3.2 If-Modified-Since alone is forwarded as it is",
			"", true, 1, "", http.StatusOK, "version 1", true}, // the 200 is stored
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			var mu sync.Mutex
			version, sent := 1, []string{}
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, strings.Join(r.Header.Values("If-None-Match"), ", "))
				tag := fmt.Sprintf(`"v%d"`, version)
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", tag)
				for _, t := range strings.Split(strings.Join(r.Header.Values("If-None-Match"), ","), ",") {
					if strings.TrimSpace(t) == tag {
						w.WriteHeader(http.StatusNotModified)
						return
					}
				}
				fmt.Fprintf(w, "version %d", version)
			})
			tr := newTestTransport(clock)
			fetch(t, tr, "GET", o.URL+"/", nil)
			clock.Advance(2 * time.Minute) // stale
			mu.Lock()
			version = tc.originAt
			mu.Unlock()
			h := hdr("If-None-Match", tc.callerINM)
			if tc.callerIMS {
				h = hdr("If-Modified-Since", at(-time.Hour))
			}
			resp, body := fetch(t, tr, "GET", o.URL+"/", h)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			assert.Equal(t, tc.wantBody, body)
			mu.Lock()
			assert.Equal(t, tc.wantSent, sent[len(sent)-1], "the If-None-Match the origin saw")
			mu.Unlock()
			resp, _ = fetch(t, tr, "GET", o.URL+"/", nil)
			assert.Equal(t, tc.freshened, isHit(resp), "the stored response is fresh again")
		})
	}
}

// TestRFC9110_9_3_3_PostResponseReusedForGet: a response to POST with
// explicit freshness and a Content-Location naming the POST's target URI is
// stored for a later GET of that URI; any other is not.
func TestRFC9110_9_3_3_PostResponseReusedForGet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		shared   bool
		location string // Content-Location; "SELF" is the absolute target URI
		cc       string
		expires  bool
		stored   bool
	}{
		{"9.3.3 Content-Location is the target and max-age: stored for GET", false, "/doc", "max-age=60", false, true},
		{"9.3.3 an absolute Content-Location naming the target", false, "SELF", "max-age=60", false, true},
		{"9.3.3 Expires is explicit freshness too", false, "/doc", "", true, true},
		{"9.3.3 s-maxage in a shared cache", true, "/doc", "public, s-maxage=60", false, true},
		{"9.3.3 without Content-Location: not stored", false, "", "max-age=60", false, false},
		{"9.3.3 Content-Location naming another URI: not stored", false, "/other", "max-age=60", false, false},
		{"9.3.3 another origin: not stored", false, "http://elsewhere.example/doc", "max-age=60", false, false},
		{"9.3.3 without explicit freshness: not stored", false, "/doc", "", false, false},
		{"9.3.3 no-store: not stored", false, "/doc", "max-age=60, no-store", false, false},
		{"9.3.3 private in a shared cache: not stored", true, "/doc", "private, max-age=60", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			var o *testOrigin
			o = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				if tc.cc != "" {
					w.Header().Set("Cache-Control", tc.cc)
				}
				if tc.expires {
					w.Header().Set("Expires", at(time.Minute))
				}
				switch tc.location {
				case "":
				case "SELF":
					w.Header().Set("Content-Location", o.URL+"/doc")
				default:
					w.Header().Set("Content-Location", tc.location)
				}
				fmt.Fprintf(w, "%s answer", r.Method)
			})
			var opts []Option
			if tc.shared {
				opts = append(opts, WithShared())
			}
			tr := newTestTransport(clock, opts...)
			resp, body := fetch(t, tr, "POST", o.URL+"/doc", nil)
			require.Equal(t, "POST answer", body)
			status, _ := CacheStatusOf(resp)
			assert.Equal(t, tc.stored, status.Stored, "Cache-Status %q", resp.Header["Cache-Status"])
			resp, body = fetch(t, tr, "GET", o.URL+"/doc", nil)
			assert.Equal(t, tc.stored, isHit(resp))
			if tc.stored {
				assert.Equal(t, "POST answer", body, "the GET got the POST's response")
				assert.Equal(t, int64(1), o.hits.Load())
			}
		})
	}
}
