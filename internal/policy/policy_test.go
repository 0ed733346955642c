package policy

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file check the pure RFC 9111 functions of policy.go, one
// table row per rule, each subtest named after the section it checks. Every
// time is fixed: nothing reads the clock.

// policyT0 is the instant every policy test is built around.
var policyT0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// policyAt formats policyT0+d as an IMF-fixdate HTTP-date.
func policyAt(d time.Duration) string { return policyT0.Add(d).Format(http.TimeFormat) }

// policyMaxDelta is 2^31 seconds, the clamp of RFC 9111 Section 1.2.2.
const policyMaxDelta = time.Duration(1<<31) * time.Second

func TestPolicyFreshnessLifetime(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name     string
		status   int // 200 if 0
		shared   bool
		header   http.Header
		lifetime time.Duration
		explicit bool
		wrong    string // what a user would see if the row failed
	}{
		{
			name:     "4.2.1 s-maxage beats max-age in a shared cache",
			shared:   true,
			header:   http.Header{"Cache-Control": {"max-age=60, s-maxage=120"}, "Date": {policyAt(0)}},
			lifetime: 120 * time.Second,
			explicit: true,
			wrong:    "a shared cache would ignore s-maxage and refetch or serve for the browser's max-age instead",
		},
		{
			name:     "4.2.1 s-maxage beats max-age in a shared cache even when shorter",
			shared:   true,
			header:   http.Header{"Cache-Control": {"max-age=600, s-maxage=0"}, "Date": {policyAt(0)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a shared cache would serve a response the origin gave s-maxage=0 for ten minutes",
		},
		{
			name:     "4.2.1 s-maxage is ignored by a private cache",
			header:   http.Header{"Cache-Control": {"max-age=60, s-maxage=120"}, "Date": {policyAt(0)}},
			lifetime: 60 * time.Second,
			explicit: true,
			wrong:    "a private cache would apply the shared-cache-only s-maxage and serve stale content",
		},
		{
			name:     "4.2.1 s-maxage alone in a private cache falls through to Expires",
			header:   http.Header{"Cache-Control": {"s-maxage=120"}, "Date": {policyAt(0)}, "Expires": {policyAt(30 * time.Second)}},
			lifetime: 30 * time.Second,
			explicit: true,
			wrong:    "a private cache would use s-maxage instead of Expires",
		},
		{
			name:     "4.2.1 max-age beats Expires",
			header:   http.Header{"Cache-Control": {"max-age=60"}, "Date": {policyAt(0)}, "Expires": {policyAt(time.Hour)}},
			lifetime: 60 * time.Second,
			explicit: true,
			wrong:    "a response with max-age=60 would be served from cache for as long as Expires says",
		},
		{
			name:     "4.2.1 max-age=0 beats Expires",
			header:   http.Header{"Cache-Control": {"max-age=0"}, "Date": {policyAt(0)}, "Expires": {policyAt(time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with max-age=0 would be served from cache",
		},
		{
			name:     "4.2.1 max-age beats a later Expires that shortens it",
			header:   http.Header{"Cache-Control": {"max-age=3600"}, "Date": {policyAt(0)}, "Expires": {policyAt(time.Minute)}},
			lifetime: time.Hour,
			explicit: true,
			wrong:    "Expires would override max-age and the response would be refetched too early",
		},
		{
			name:     "5.3 max-age beats an invalid Expires",
			header:   http.Header{"Cache-Control": {"max-age=60"}, "Date": {policyAt(0)}, "Expires": {"0"}},
			lifetime: 60 * time.Second,
			explicit: true,
			wrong:    "an invalid Expires would make a max-age=60 response uncacheable",
		},
		{
			name:     "4.2.1 invalid max-age means stale",
			header:   http.Header{"Cache-Control": {"max-age=abc"}, "Date": {policyAt(0)}, "Expires": {policyAt(time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with an invalid max-age would be served from cache",
		},
		{
			name:     "4.2.1 the most restrictive of two max-age wins",
			header:   http.Header{"Cache-Control": {"max-age=60", "max-age=30"}, "Date": {policyAt(0)}},
			lifetime: 30 * time.Second,
			explicit: true,
			wrong:    "a response with conflicting max-age would be served past the shorter one",
		},
		{
			name:     "4.2.1 Expires minus Date",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {policyAt(time.Hour)}},
			lifetime: time.Hour,
			explicit: true,
			wrong:    "a response with Expires one hour after Date would not be fresh for one hour",
		},
		{
			name:     "4.2.1 Expires minus Date, not minus the time of receipt",
			header:   http.Header{"Date": {policyAt(-30 * time.Minute)}, "Expires": {policyAt(30 * time.Minute)}},
			lifetime: time.Hour,
			explicit: true,
			wrong:    "clock skew between origin and cache would change the freshness lifetime",
		},
		{
			name:     "4.2.1 Expires minus the time of receipt when Date is missing",
			header:   http.Header{"Expires": {policyAt(time.Hour)}},
			lifetime: time.Hour,
			explicit: true,
			wrong:    "a response without Date would not get the lifetime its Expires gives",
		},
		{
			name:     "4.2.1 Expires equal to Date is already stale",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {policyAt(0)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response that expires when it is sent would be served from cache",
		},
		{
			name:     "4.2.1 Expires before Date is already stale",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {policyAt(-time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response that expired before it was sent would be served from cache",
		},
		{
			name:     "5.3 an invalid Expires (0) means already expired",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {"0"}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with Expires: 0 would be served from cache",
		},
		{
			name:     "5.3 an invalid Expires (-1) means already expired",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {"-1"}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with Expires: -1 would be served from cache",
		},
		{
			name:     "5.3 an empty Expires means already expired",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {""}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with an empty Expires would get heuristic freshness and be served from cache",
		},
		{
			name:     "5.3 a non-GMT Expires is invalid",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {"Tue, 24 Nov 2026 13:00:00 PST"}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with a malformed Expires would be served from cache",
		},
		{
			name: "5.3 two differing Expires lines are invalid",
			header: http.Header{"Date": {policyAt(0)},
				"Expires": {policyAt(time.Hour), policyAt(2 * time.Hour)}},
			lifetime: 0,
			explicit: true,
			wrong:    "a response with contradictory Expires lines would be served from cache",
		},
		{
			name: "5.3 two identical Expires lines are one",
			header: http.Header{"Date": {policyAt(0)},
				"Expires": {policyAt(time.Hour), policyAt(time.Hour)}},
			lifetime: time.Hour,
			explicit: true,
			wrong:    "a response that repeats its Expires line would not be cached",
		},
		{
			name:     "4.2.2 heuristic is 10% of Date minus Last-Modified",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "a response last modified 10 hours ago would not be fresh for one hour",
		},
		{
			name:     "4.2.2 heuristic counts from Date, not the time of receipt",
			header:   http.Header{"Date": {policyAt(-time.Hour)}, "Last-Modified": {policyAt(-11 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "clock skew between origin and cache would change the heuristic lifetime",
		},
		{
			name:     "4.2.2 heuristic counts from the time of receipt when Date is missing",
			header:   http.Header{"Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "a response without Date would not get heuristic freshness",
		},
		{
			name:     "4.2.2 heuristic just under the 24h cap",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-239 * time.Hour)}},
			lifetime: 239 * time.Hour / 10,
			explicit: false,
			wrong:    "a response would get the wrong heuristic lifetime",
		},
		{
			name:     "4.2.2 heuristic is capped at 24h",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-1000 * time.Hour)}},
			lifetime: 24 * time.Hour,
			explicit: false,
			wrong:    "an old response would be served without revalidation for more than a day",
		},
		{
			name:     "4.2.2 no heuristic for a Last-Modified in the future",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(time.Hour)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a response claiming to be modified in the future would be served from cache",
		},
		{
			name:     "4.2.2 no heuristic for a Last-Modified equal to Date",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(0)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a response modified just now would be served from cache",
		},
		{
			name:     "4.2.2 no heuristic without Last-Modified",
			header:   http.Header{"Date": {policyAt(0)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a response without any freshness information would be served from cache",
		},
		{
			name:     "4.2.2 no heuristic for an invalid Last-Modified",
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {"yesterday"}},
			lifetime: 0,
			explicit: false,
			wrong:    "a response with a malformed Last-Modified would be served from cache",
		},
		{
			name:     "4.2.2 heuristic for a 404",
			status:   http.StatusNotFound,
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "a heuristically cacheable 404 would not be reused",
		},
		{
			name:     "4.2.2 no heuristic for a 500",
			status:   http.StatusInternalServerError,
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a server error would be served from cache",
		},
		{
			name:     "4.2.2 no heuristic for a 302",
			status:   http.StatusFound,
			header:   http.Header{"Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a temporary redirect would be served from cache",
		},
		{
			name:     "4.2.2 public allows a heuristic for a 500",
			status:   http.StatusInternalServerError,
			header:   http.Header{"Cache-Control": {"public"}, "Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "a response the origin marked public would not get heuristic freshness",
		},
		{
			name:     "4.2.2 private allows a heuristic for a 500 in a private cache",
			status:   http.StatusInternalServerError,
			header:   http.Header{"Cache-Control": {"private"}, "Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: time.Hour,
			explicit: false,
			wrong:    "a private response would not get heuristic freshness in a private cache",
		},
		{
			name:     "4.2.2 private does not allow a heuristic for a 500 in a shared cache",
			status:   http.StatusInternalServerError,
			shared:   true,
			header:   http.Header{"Cache-Control": {"private"}, "Date": {policyAt(0)}, "Last-Modified": {policyAt(-10 * time.Hour)}},
			lifetime: 0,
			explicit: false,
			wrong:    "a shared cache would give a private server error heuristic freshness",
		},
		{
			name:     "4.2.2 no heuristic when an explicit Expires is present",
			header:   http.Header{"Date": {policyAt(0)}, "Expires": {policyAt(time.Minute)}, "Last-Modified": {policyAt(-100 * time.Hour)}},
			lifetime: time.Minute,
			explicit: true,
			wrong:    "the heuristic would override the origin's Expires",
		},
		{
			name:     "4.2.1 s-maxage in a shared cache is explicit for a 500",
			status:   http.StatusInternalServerError,
			shared:   true,
			header:   http.Header{"Cache-Control": {"s-maxage=10"}, "Date": {policyAt(0)}},
			lifetime: 10 * time.Second,
			explicit: true,
			wrong:    "a shared cache would not honour s-maxage on a server error",
		},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status := orDefault(tc.status, http.StatusOK)
			cc := httpsyntax.ParseResponseCacheControl(tc.header)
			lifetime, source := FreshnessLifetime(status, tc.header, cc, DateValue(tc.header, policyT0), tc.shared)
			explicit := source.Explicit()
			assert.Equal(t, tc.lifetime, lifetime, "freshness lifetime: %s", tc.wrong)
			assert.Equal(t, tc.explicit, explicit, "explicit: %s (the heuristic and explicit lifetimes were confused)", tc.wrong)
		})
	}
}

func TestPolicyHeuristicallyCacheable(t *testing.T) {
	t.Parallel()
	// RFC 9110 Section 15.1 lists these as heuristically cacheable.
	for _, status := range []int{200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501} {
		t.Run(fmt.Sprintf("RFC 9110 15.1 %d is heuristically cacheable", status), func(t *testing.T) {
			t.Parallel()
			assert.True(t, HeuristicallyCacheable(status),
				"a %d %s without Cache-Control would never be stored or reused", status, http.StatusText(status))
		})
	}
	// All other status codes are not.
	for _, status := range []int{100, 101, 103, 201, 202, 205, 302, 303, 304, 307, 400, 401, 403, 409, 429, 500, 502, 503, 504, 599} {
		t.Run(fmt.Sprintf("RFC 9110 15.1 %d is not heuristically cacheable", status), func(t *testing.T) {
			t.Parallel()
			assert.False(t, HeuristicallyCacheable(status),
				"a %d %s without explicit freshness would be stored and served from cache", status, http.StatusText(status))
		})
	}
}

// policyAgeRows are the Age field values of TestPolicyAgeValue; they also
// seed FuzzAgeValue. A nil lines means no Age field.
var policyAgeRows = []struct {
	name  string
	lines []string
	want  int64
}{
	{"5.1 missing Age is 0", nil, 0},
	{"5.1 Age 0", []string{"0"}, 0},
	{"5.1 Age 60", []string{"60"}, 60},
	{"5.1 leading zeros", []string{"007"}, 7},
	{"5.1 first member of a list", []string{"10, 50"}, 10},
	{"5.1 first field line of two", []string{"10", "50"}, 10},
	{"5.1 an invalid first member is ignored, not the next one", []string{"x, 50"}, 0},
	{"5.1 negative Age is ignored", []string{"-5"}, 0},
	{"5.1 explicit plus sign is ignored", []string{"+5"}, 0},
	{"5.1 non-numeric Age is ignored", []string{"abc"}, 0},
	{"5.1 fractional Age is ignored", []string{"1.5"}, 0},
	{"5.1 empty Age is ignored", []string{""}, 0},
	{"5.1 whitespace around Age is ignored", []string{" 7 "}, 7},
	{"5.1 tab around Age is ignored", []string{"\t7\t"}, 7},
	{"5.1 inner whitespace is invalid", []string{"1 2"}, 0},
	{"1.2.2 2^31-1 is kept", []string{"2147483647"}, 1<<31 - 1},
	{"1.2.2 2^31 is kept", []string{"2147483648"}, 1 << 31},
	{"1.2.2 2^31+1 is clamped to 2^31", []string{"2147483649"}, 1 << 31},
	{"1.2.2 an overflowing Age is clamped to 2^31", []string{"99999999999999999999"}, 1 << 31},
}

func TestPolicyAgeValue(t *testing.T) {
	t.Parallel()
	for _, tc := range policyAgeRows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.lines != nil {
				h["Age"] = tc.lines
			}
			assert.Equal(t, tc.want, AgeValue(h),
				"a response with Age %q would be considered %ds old instead of %ds", tc.lines, AgeValue(h), tc.want)
		})
	}
}

// policyAgeModel is an independent reading of RFC 9111 Section 5.1: the first
// member of the first line, if it is 1*DIGIT, clamped to 2^31; else 0.
func policyAgeModel(first string) int64 {
	first, _, _ = strings.Cut(first, ",")
	first = strings.Trim(first, " \t") // OWS is SP and HTAB only (RFC 9110 Section 5.6.3)
	if first == "" || strings.Trim(first, "0123456789") != "" {
		return 0
	}
	digits := strings.TrimLeft(first, "0")
	const limit = "2147483648"
	if len(digits) > len(limit) || len(digits) == len(limit) && digits > limit {
		return 1 << 31
	}
	if digits == "" {
		return 0
	}
	n, _ := strconv.ParseInt(digits, 10, 64)
	return n
}

func FuzzAgeValue(f *testing.F) {
	for _, r := range policyAgeRows {
		switch len(r.lines) {
		case 0:
			f.Add("", false, "")
		case 1:
			f.Add(r.lines[0], false, "")
		default:
			f.Add(r.lines[0], true, r.lines[1])
		}
	}
	f.Fuzz(func(t *testing.T, first string, twoLines bool, second string) {
		h := http.Header{"Age": {first}}
		if twoLines {
			h["Age"] = append(h["Age"], second)
		}
		got := AgeValue(h)
		require.GreaterOrEqual(t, got, int64(0), "Age %q would make a response younger than it is", h["Age"])
		require.LessOrEqual(t, got, int64(1)<<31, "Age %q would be read past the 2^31 clamp", h["Age"])
		require.Equal(t, policyAgeModel(first), got, "Age %q would be misread", h["Age"])
	})
}

func TestPolicyCorrectedInitialAge(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name         string
		header       http.Header
		requestTime  time.Duration // relative to policyT0
		responseTime time.Duration // relative to policyT0
		want         time.Duration
		wrong        string
	}{
		{
			name:        "4.2.3 apparent age is response_time minus date_value",
			header:      http.Header{"Date": {policyAt(-30 * time.Second)}},
			requestTime: -time.Second,
			want:        30 * time.Second,
			wrong:       "a response that spent 30s in transit or upstream caches would look younger",
		},
		{
			name:        "4.2.3 response delay is added to Age",
			header:      http.Header{"Date": {policyAt(0)}, "Age": {"60"}},
			requestTime: -2 * time.Second,
			want:        62 * time.Second,
			wrong:       "the time the request took would not be counted and the response would be served stale",
		},
		{
			name:        "4.2.3 corrected Age wins over a smaller apparent age",
			header:      http.Header{"Date": {policyAt(-10 * time.Second)}, "Age": {"100"}},
			requestTime: -time.Second,
			want:        101 * time.Second,
			wrong:       "an upstream cache's Age would be ignored and the response served stale",
		},
		{
			name:        "4.2.3 apparent age wins over a smaller corrected Age",
			header:      http.Header{"Date": {policyAt(-30 * time.Second)}, "Age": {"5"}},
			requestTime: -time.Second,
			want:        30 * time.Second,
			wrong:       "a response older than its Age says would be served stale",
		},
		{
			name:        "4.2.3 a Date in the future gives 0 apparent age",
			header:      http.Header{"Date": {policyAt(time.Hour)}},
			requestTime: 0,
			want:        0,
			wrong:       "an origin clock running ahead would make the response negatively old and fresh too long",
		},
		{
			name:        "4.2.3 a Date in the future still counts Age and delay",
			header:      http.Header{"Date": {policyAt(time.Hour)}, "Age": {"10"}},
			requestTime: -time.Second,
			want:        11 * time.Second,
			wrong:       "an origin clock running ahead would hide the Age an upstream cache reported",
		},
		{
			name:        "4.2.3 a response received before its request gives no negative delay",
			header:      http.Header{"Date": {policyAt(0)}, "Age": {"10"}},
			requestTime: 5 * time.Second,
			want:        10 * time.Second,
			wrong:       "a local clock step would make the response younger than its Age",
		},
		{
			name:        "5.1 an invalid Age is ignored",
			header:      http.Header{"Date": {policyAt(-3 * time.Second)}, "Age": {"abc"}},
			requestTime: -time.Second,
			want:        3 * time.Second,
			wrong:       "a malformed Age would change how old the response looks",
		},
		{
			name:        "1.2.2 an overflowing Age is clamped to 2^31 seconds",
			header:      http.Header{"Date": {policyAt(0)}, "Age": {"99999999999999999999"}},
			requestTime: -time.Second,
			want:        policyMaxDelta,
			wrong:       "a huge Age would overflow and make the response look fresh",
		},
		{
			name:   "4.2.3 a Date centuries ago saturates instead of wrapping negative",
			header: http.Header{"Date": {"Mon, 01 Jan 1001 00:00:00 GMT"}, "Age": {"5"}},
			want:   policyMaxDelta,
			wrong:  "the apparent age would overflow, wrap negative, and make a stale response fresh",
		},
		{
			name:        "4.2.3 a request time of zero (a decoded entry) saturates",
			header:      http.Header{"Date": {policyAt(0)}, "Age": {"5"}},
			requestTime: -policyT0.Sub(time.Time{}),
			want:        policyMaxDelta,
			wrong:       "a zero request time makes the response delay saturate; adding the Age would wrap negative",
		},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			responseTime := policyT0.Add(tc.responseTime)
			got := CorrectedInitialAge(tc.header, DateValue(tc.header, responseTime),
				policyT0.Add(tc.requestTime), responseTime)
			assert.Equal(t, tc.want, got, "corrected_initial_age: %s", tc.wrong)
		})
	}
}

func TestPolicyStorable(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name      string
		method    string // GET if empty
		reqHeader http.Header
		status    int // 200 if 0
		header    http.Header
		shared    bool
		ok        bool
		reason    string
	}{
		// Refusals, one per reason string.
		{name: "3 a POST response is not stored", method: http.MethodPost,
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "method"},
		{name: "3 a PUT response is not stored", method: http.MethodPut,
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "method"},
		{name: "3 a 1xx status is not final", status: http.StatusEarlyHints,
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "status"},
		{name: "3 a 304 is not stored as a response", status: http.StatusNotModified,
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "status"},
		{name: "3.3 a 206 is not a complete response", status: http.StatusPartialContent,
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "partial content"},
		{name: "3.4 a 200 with Content-Range is a complete response like any other",
			header: http.Header{"Cache-Control": {"max-age=60"}, "Content-Range": {"bytes 0-9/100"}}, ok: true},
		{name: "5.2.2.3 must-understand with a status the cache does not understand", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"must-understand, no-store, max-age=60"}}, reason: "must-understand"},
		{name: "5.2.2.3 must-understand on a 206 is still partial content", status: http.StatusPartialContent,
			header: http.Header{"Cache-Control": {"must-understand, max-age=60"}}, reason: "partial content"},
		{name: "5.2.1.5 request no-store", reqHeader: http.Header{"Cache-Control": {"no-store"}},
			header: http.Header{"Cache-Control": {"max-age=60"}}, reason: "request no-store"},
		{name: "5.2.2.5 response no-store",
			header: http.Header{"Cache-Control": {"max-age=60, no-store"}}, reason: "no-store"},
		{name: "5.2.2.5 response no-store beats public",
			header: http.Header{"Cache-Control": {"public, no-store"}}, shared: true, reason: "no-store"},
		{name: "5.2.2.7 private is not stored by a shared cache",
			header: http.Header{"Cache-Control": {"private, max-age=60"}}, shared: true, reason: "private"},
		{name: "3.5 Authorization in a shared cache", reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header: http.Header{"Cache-Control": {"max-age=60"}}, shared: true, reason: "authorization"},
		{name: "3.5 proxy-revalidate does not allow Authorization in a shared cache",
			reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header:    http.Header{"Cache-Control": {"max-age=60, proxy-revalidate"}}, shared: true, reason: "authorization"},
		{name: "4.1 Vary *", header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, reason: "vary *"},
		{name: "4.1 Vary Accept, *", header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept, *"}}, reason: "vary *"},
		{name: "4.1 Vary *, Accept", header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*, Accept"}}, reason: "vary *"},
		{name: "4.1 Vary * on its own line", header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept", " * "}}, reason: "vary *"},
		{name: "4.1 Vary Accept,,*", header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept,,*"}}, reason: "vary *"},
		{name: "4.1 Vary * in a shared cache", header: http.Header{"Cache-Control": {"public, max-age=60"}, "Vary": {"*"}}, shared: true, reason: "vary *"},
		{name: "3 a 500 without explicit freshness", status: http.StatusInternalServerError,
			header: http.Header{"Last-Modified": {policyAt(-time.Hour)}}, reason: "status not cacheable by default"},
		{name: "3 a 302 without explicit freshness", status: http.StatusFound,
			header: http.Header{"Location": {"/b"}}, reason: "status not cacheable by default"},
		{name: "3 s-maxage does not make a 500 storable in a private cache", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"s-maxage=60"}}, reason: "status not cacheable by default"},

		// Responses that may be stored.
		{name: "3 a GET 200 with max-age", header: http.Header{"Cache-Control": {"max-age=60"}}, ok: true},
		{name: "3 a HEAD 200 with max-age", method: http.MethodHead, header: http.Header{"Cache-Control": {"max-age=60"}}, ok: true},
		{name: "3.5 a private cache stores responses to Authorization",
			reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header:    http.Header{"Cache-Control": {"max-age=60"}}, ok: true},
		{name: "3.5 public allows Authorization in a shared cache",
			reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header:    http.Header{"Cache-Control": {"public, max-age=60"}}, shared: true, ok: true},
		{name: "3.5 s-maxage allows Authorization in a shared cache",
			reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header:    http.Header{"Cache-Control": {"s-maxage=60"}}, shared: true, ok: true},
		{name: "3.5 must-revalidate allows Authorization in a shared cache",
			reqHeader: http.Header{"Authorization": {"Bearer x"}},
			header:    http.Header{"Cache-Control": {"must-revalidate, max-age=60"}}, shared: true, ok: true},
		{name: "3 Expires alone makes a 500 storable", status: http.StatusInternalServerError,
			header: http.Header{"Date": {policyAt(0)}, "Expires": {policyAt(time.Hour)}}, ok: true},
		{name: "3 an invalid Expires still makes a 500 storable", status: http.StatusInternalServerError,
			header: http.Header{"Expires": {"0"}}, ok: true},
		{name: "3 Expires alone on a 200", header: http.Header{"Expires": {policyAt(time.Hour)}}, ok: true},
		{name: "3 max-age makes a 500 storable", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"max-age=60"}}, ok: true},
		{name: "3 public makes a 500 storable", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"public"}}, shared: true, ok: true},
		{name: "3 private makes a 500 storable in a private cache", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"private"}}, ok: true},
		{name: "3 s-maxage makes a 500 storable in a shared cache", status: http.StatusInternalServerError,
			header: http.Header{"Cache-Control": {"s-maxage=60"}}, shared: true, ok: true},
		{name: "3 a 404 is heuristically cacheable", status: http.StatusNotFound,
			header: http.Header{"Last-Modified": {policyAt(-time.Hour)}}, ok: true},
		{name: "5.2.2.3 must-understand overrides no-store for an understood status",
			header: http.Header{"Cache-Control": {"must-understand, no-store, max-age=60"}}, ok: true},
		{name: "5.2.2.3 must-understand alone on a 404", status: http.StatusNotFound,
			header: http.Header{"Cache-Control": {"must-understand, max-age=60"}}, ok: true},
		{name: "3 a 200 without any freshness information is storable", header: http.Header{}, ok: true},
		{name: "5.2.2.7 qualified private lets a shared cache store the rest",
			header: http.Header{"Cache-Control": {`private="Set-Cookie", max-age=60`}}, shared: true, ok: true},
		{name: "4.1 Vary on named fields is storable",
			header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept, Accept-Encoding"}}, ok: true},
		{name: "4.1 Vary with a star inside a name is not Vary *",
			header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"X-*"}}, ok: true},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(orDefault(tc.method, http.MethodGet), "http://example.com/a", nil)
			require.NoError(t, err)
			if tc.reqHeader != nil {
				req.Header = tc.reqHeader
			}
			resp := &http.Response{StatusCode: orDefault(tc.status, http.StatusOK), Header: tc.header, Request: req}
			refused := Storable(req, httpsyntax.ParseRequestCacheControl(req.Header), resp, httpsyntax.ParseResponseCacheControl(resp.Header), tc.shared)
			ok, reason := refused == 0, refused.String()
			if tc.ok {
				assert.True(t, ok, "a cacheable %s %d response would never be stored (refused for %q)", req.Method, resp.StatusCode, reason)
				assert.Empty(t, reason, "a stored response would report a refusal reason in Cache-Status")
			} else {
				assert.False(t, ok, "a %s %d response with %v would be stored against RFC 9111 (want refusal %q)", req.Method, resp.StatusCode, tc.header, tc.reason)
				assert.Equal(t, tc.reason, reason, "Cache-Status would give the wrong reason for not storing the response")
			}
		})
	}
}

func TestPolicyServable(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name     string
		respCC   string // the stored response's Cache-Control
		lifetime time.Duration
		age      time.Duration
		reqCC    string // the request's Cache-Control
		shared   bool
		want     bool
		wrong    string
	}{
		{name: "4.2 a fresh response is served", respCC: "max-age=60", lifetime: 60 * time.Second, age: 30 * time.Second, want: true,
			wrong: "a fresh response would not be served from cache"},
		{name: "4.2 a response whose age equals its lifetime is stale", respCC: "max-age=60", lifetime: 60 * time.Second, age: 60 * time.Second,
			wrong: "a response would be served from cache one second past its lifetime"},
		{name: "4.2 a stale response is not served", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second,
			wrong: "a stale response would be served from cache"},
		{name: "4.2 a response with max-age=0 is not served", respCC: "max-age=0", lifetime: 0, age: 0,
			wrong: "a response with max-age=0 would be served from cache"},
		{name: "5.2.2.4 response no-cache requires validation", respCC: "no-cache, max-age=60", lifetime: 60 * time.Second, age: 0,
			wrong: "a response with no-cache would be served from cache without revalidation"},
		{name: "5.2.2.4 response no-cache beats max-stale", respCC: "no-cache", lifetime: 0, age: time.Second, reqCC: "max-stale",
			wrong: "a response with no-cache would be served stale on a max-stale request"},
		{name: "5.2.2.4 qualified no-cache does not prevent serving", respCC: `no-cache="Set-Cookie", max-age=60`, lifetime: 60 * time.Second, age: 0, want: true,
			wrong: "a response with no-cache=\"Set-Cookie\" would always be revalidated"},
		{name: "5.2.1.4 request no-cache requires validation", respCC: "max-age=60", lifetime: 60 * time.Second, age: 0, reqCC: "no-cache",
			wrong: "a request with no-cache (a forced reload) would be answered from cache"},
		{name: "5.2.1.1 request max-age below the age refuses", respCC: "max-age=60", lifetime: 60 * time.Second, age: 30 * time.Second, reqCC: "max-age=10",
			wrong: "a request with max-age=10 would get a 30s old response"},
		{name: "5.2.1.1 request max-age equal to the age accepts", respCC: "max-age=60", lifetime: 60 * time.Second, age: 30 * time.Second, reqCC: "max-age=30", want: true,
			wrong: "a request with max-age=30 would not accept a response exactly 30s old"},
		{name: "5.2.1.1 request max-age=0 refuses an aged response", respCC: "max-age=60", lifetime: 60 * time.Second, age: time.Second, reqCC: "max-age=0",
			wrong: "a request with max-age=0 would be answered from cache"},
		{name: "RFC 8246 2 request max-age does not cut a fresh immutable response short", respCC: "max-age=600, immutable", lifetime: 600 * time.Second, age: 30 * time.Second, reqCC: "max-age=0", want: true,
			wrong: "a browser reload would refetch an immutable response that is still fresh"},
		{name: "RFC 8246 2 a stale immutable response still obeys request max-age", respCC: "max-age=60, immutable", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-age=0, max-stale",
			wrong: "a request with max-age=0 would get a stale immutable response"},
		{name: "RFC 8246 2 request no-cache still revalidates an immutable response", respCC: "max-age=600, immutable", lifetime: 600 * time.Second, age: 30 * time.Second, reqCC: "no-cache",
			wrong: "a forced reload would not reach the origin for an immutable response"},
		{name: "5.2.1.1 request max-age does not extend freshness", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-age=120",
			wrong: "a request with a long max-age would get a stale response"},
		{name: "5.2.1.3 min-fresh satisfied", respCC: "max-age=60", lifetime: 60 * time.Second, age: 30 * time.Second, reqCC: "min-fresh=30", want: true,
			wrong: "a request with min-fresh=30 would refuse a response fresh for 30 more seconds"},
		{name: "5.2.1.3 min-fresh not satisfied", respCC: "max-age=60", lifetime: 60 * time.Second, age: 30 * time.Second, reqCC: "min-fresh=31",
			wrong: "a request with min-fresh=31 would get a response fresh for only 30 more seconds"},
		{name: "5.2.1.2 max-stale with a value inside the staleness", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale=30", want: true,
			wrong: "a request with max-stale=30 would refuse a response 30s stale"},
		{name: "5.2.1.2 max-stale with a value outside the staleness", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale=29",
			wrong: "a request with max-stale=29 would get a response 30s stale"},
		{name: "5.2.1.2 max-stale=0 accepts a response just at its lifetime", respCC: "max-age=60", lifetime: 60 * time.Second, age: 60 * time.Second, reqCC: "max-stale=0", want: true,
			wrong: "a request with max-stale=0 would refuse a response stale by 0 seconds"},
		{name: "5.2.1.2 max-stale=0 refuses a response past its lifetime", respCC: "max-age=60", lifetime: 60 * time.Second, age: 61 * time.Second, reqCC: "max-stale=0",
			wrong: "a request with max-stale=0 would get a stale response"},
		{name: "5.2.1.2 max-stale without a value accepts any staleness", respCC: "max-age=60", lifetime: 60 * time.Second, age: 1000 * time.Hour, reqCC: "max-stale", want: true,
			wrong: "a request with max-stale would refuse a stale response"},
		{name: "5.2.1.2 an invalid max-stale is not any staleness", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale=abc",
			wrong: "a request with a malformed max-stale would get a stale response"},
		{name: "5.2.1.2 max-stale does not override request max-age", respCC: "max-age=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale, max-age=80",
			wrong: "a request with max-age=80 would get a 90s old response"},
		{name: "5.2.2.2 must-revalidate blocks max-stale", respCC: "max-age=60, must-revalidate", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale",
			wrong: "a stale must-revalidate response would be served on a max-stale request"},
		{name: "5.2.2.2 must-revalidate blocks max-stale in a shared cache", respCC: "max-age=60, must-revalidate", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale=60", shared: true,
			wrong: "a stale must-revalidate response would be served by a shared cache"},
		{name: "5.2.2.2 must-revalidate does not affect a fresh response", respCC: "max-age=60, must-revalidate", lifetime: 60 * time.Second, age: 30 * time.Second, want: true,
			wrong: "a fresh must-revalidate response would not be served from cache"},
		{name: "5.2.2.8 proxy-revalidate blocks max-stale in a shared cache", respCC: "max-age=60, proxy-revalidate", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale", shared: true,
			wrong: "a shared cache would serve a stale proxy-revalidate response"},
		{name: "5.2.2.8 proxy-revalidate does not block max-stale in a private cache", respCC: "max-age=60, proxy-revalidate", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale", want: true,
			wrong: "a private cache would apply proxy-revalidate, meant only for shared caches"},
		{name: "5.2.2.10 s-maxage blocks max-stale in a shared cache", respCC: "s-maxage=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale", shared: true,
			wrong: "a shared cache would serve a stale s-maxage response"},
		{name: "5.2.2.10 s-maxage does not block max-stale in a private cache", respCC: "max-age=60, s-maxage=60", lifetime: 60 * time.Second, age: 90 * time.Second, reqCC: "max-stale", want: true,
			wrong: "a private cache would apply s-maxage, meant only for shared caches"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &Facts{
				CC:       httpsyntax.ParseResponseCacheControl(http.Header{"Cache-Control": {tc.respCC}}),
				Lifetime: tc.lifetime,
			}
			reqCC := httpsyntax.ParseRequestCacheControl(http.Header{"Cache-Control": {tc.reqCC}})
			assert.Equal(t, tc.want, Servable(m, reqCC, tc.age, tc.shared), "%s", tc.wrong)
		})
	}
}

// policyVaryRows are the Vary fields of TestPolicyVaryNames; they also seed
// FuzzVaryNames.
var policyVaryRows = []struct {
	name  string
	lines []string // the Vary field lines; nil for none
	names []string
	star  bool
}{
	{"4.1 no Vary", nil, nil, false},
	{"4.1 empty Vary", []string{""}, nil, false},
	{"4.1 only separators", []string{" , ,\t"}, nil, false},
	{"4.1 one name", []string{"Accept"}, []string{"Accept"}, false},
	{"4.1 names are canonicalised", []string{"accept-encoding, ACCEPT-LANGUAGE"}, []string{"Accept-Encoding", "Accept-Language"}, false},
	{"4.1 names over several lines", []string{"Accept", "Accept-Encoding, Origin"}, []string{"Accept", "Accept-Encoding", "Origin"}, false},
	{"4.1 names are deduplicated ignoring case", []string{"Accept, accept", "ACCEPT, Origin"}, []string{"Accept", "Origin"}, false},
	{"4.1 empty members are skipped", []string{"Accept,, ,Origin,"}, []string{"Accept", "Origin"}, false},
	{"4.1 whitespace around names is removed", []string{" Accept ,\tOrigin\t"}, []string{"Accept", "Origin"}, false},
	{"4.1 a star inside a name is not Vary *", []string{"X-*"}, []string{"X-*"}, false},
	{"4.1 Vary *", []string{"*"}, nil, true},
	{"4.1 Vary Accept, *", []string{"Accept, *"}, nil, true},
	{"4.1 Vary *, Accept", []string{"*, Accept"}, nil, true},
	{"4.1 Vary * on its own line", []string{"Accept", " * "}, nil, true},
	{"4.1 Vary Accept,,*", []string{"Accept,,*"}, nil, true},
	{"4.1 Vary * with tabs", []string{"Accept,\t*\t"}, nil, true},
}

func TestPolicyVaryNames(t *testing.T) {
	t.Parallel()
	for _, tc := range policyVaryRows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Content-Type": {"text/plain"}}
			if tc.lines != nil {
				h["Vary"] = tc.lines
			}
			names, ok := VaryNames(h)
			star := !ok
			if tc.star {
				assert.True(t, star, "a response with Vary %q would be stored and served to requests it was not meant for", tc.lines)
			} else {
				assert.False(t, star, "a response with Vary %q would never be reused", tc.lines)
			}
			assert.Equal(t, tc.names, names, "a response with Vary %q would be matched on the wrong request fields", tc.lines)
			assert.Equal(t, tc.star, VaryNeverMatches(h), "varyNeverMatches and varyNames disagree on Vary %q", tc.lines)
		})
	}
}

func FuzzVaryNames(f *testing.F) {
	for _, r := range policyVaryRows {
		switch len(r.lines) {
		case 0:
			f.Add("", "")
		case 1:
			f.Add(r.lines[0], "")
		default:
			f.Add(r.lines[0], r.lines[1])
		}
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{"Vary": {line1, line2}}
		names, ok := VaryNames(h)
		star := !ok

		// A "*" member, once OWS is trimmed, makes the response unmatchable.
		var hasStar bool
		for _, line := range h["Vary"] {
			for _, member := range strings.Split(line, ",") {
				if strings.Trim(member, " \t") == "*" {
					hasStar = true
				}
			}
		}
		if hasStar {
			require.True(t, star, "a response with Vary %q would be served to other requests", h["Vary"])
		}
		if star {
			require.Nil(t, names, "Vary * must not also list names")
			return
		}
		for i, name := range names {
			require.NotEmpty(t, name, "Vary %q would match on an empty field name", h["Vary"])
			require.Equal(t, textproto.CanonicalMIMEHeaderKey(name), name,
				"Vary %q: name %q is not canonical, so the request field would never be found", h["Vary"], name)
			for _, other := range names[:i] {
				require.False(t, strings.EqualFold(name, other),
					"Vary %q: %q and %q are listed twice", h["Vary"], other, name)
			}
		}
		// Every non-empty member is among the names.
		for _, line := range h["Vary"] {
			for _, member := range strings.Split(line, ",") {
				if member = strings.Trim(member, " \t"); member != "" { // OWS (RFC 9110 Section 5.6.3)
					require.True(t, ContainsFold(names, member),
						"Vary %q: the member %q is not matched on, so differing requests would share a response", h["Vary"], member)
				}
			}
		}
	})
}

func TestPolicyVaryHeader(t *testing.T) {
	t.Parallel()
	req := http.Header{
		"Accept":          {"text/html"},
		"Accept-Language": {"en", "fr"},
		"Cookie":          {"a=b"},
	}
	t.Run("4.1 no names stores nothing", func(t *testing.T) {
		t.Parallel()
		assert.Nil(t, VaryHeader(req, nil), "a response without Vary would store request fields for nothing")
	})
	t.Run("4.1 only the named fields are stored, absent ones left absent", func(t *testing.T) {
		t.Parallel()
		got := VaryHeader(req, []string{"Accept", "Accept-Language", "Origin"})
		assert.Equal(t, http.Header{"Accept": {"text/html"}, "Accept-Language": {"en", "fr"}}, got,
			"the stored request fields would not select the right variant later")
		_, present := got["Origin"]
		assert.False(t, present, "an absent field would be stored as present and never match its absence")
	})
	t.Run("4.1 the stored values are a copy", func(t *testing.T) {
		t.Parallel()
		local := http.Header{"Accept": {"text/html"}}
		got := VaryHeader(local, []string{"Accept"})
		local["Accept"][0] = "changed"
		assert.Equal(t, []string{"text/html"}, got["Accept"], "changing a request after the fact would change which requests match the stored response")
	})
}

func TestPolicyVaryMatches(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name   string
		vary   string // the response's Vary
		stored http.Header
		req    http.Header
		want   bool
		wrong  string
	}{
		{name: "4.1 same values match", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip"}}, req: http.Header{"Accept-Encoding": {"gzip"}}, want: true,
			wrong: "a request identical to the stored one would miss the cache"},
		{name: "4.1 different values do not match", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip"}}, req: http.Header{"Accept-Encoding": {"br"}},
			wrong: "a client asking for br would get the gzip variant"},
		{name: "4.1 absent in both match", vary: "Accept-Encoding",
			stored: http.Header{}, req: http.Header{}, want: true,
			wrong: "two requests without Accept-Encoding would not share the response"},
		{name: "4.1 absent in the stored request vs present-empty does not match", vary: "Accept-Encoding",
			stored: http.Header{}, req: http.Header{"Accept-Encoding": {""}},
			wrong: "a request with an empty Accept-Encoding would get the variant for a request without one"},
		{name: "4.1 present-empty in the stored request vs absent does not match", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {""}}, req: http.Header{},
			wrong: "a request without Accept-Encoding would get the variant for an empty one"},
		{name: "4.1 Vary names are case-insensitive", vary: "accept-ENCODING",
			stored: http.Header{"Accept-Encoding": {"gzip"}}, req: http.Header{"Accept-Encoding": {"br"}},
			wrong: "a lower-case Vary would be ignored and a client asking for br would get gzip"},
		{name: "4.1 whitespace around commas is normalised", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip,br"}}, req: http.Header{"Accept-Encoding": {"gzip ,\tbr"}}, want: true,
			wrong: "requests that differ only in list whitespace would not share the response"},
		{name: "4.1 multiple request lines combined equal one line", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip, br"}}, req: http.Header{"Accept-Encoding": {"gzip", "br"}}, want: true,
			wrong: "a request sending its list over two lines would miss the cache"},
		{name: "4.1 one stored line equals several request lines", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip", " br"}}, req: http.Header{"Accept-Encoding": {"gzip,br"}}, want: true,
			wrong: "a stored request with two lines would not match the same list on one line"},
		{name: "4.1 different order does not match (we do not reorder)", vary: "Accept-Encoding",
			stored: http.Header{"Accept-Encoding": {"gzip, br"}}, req: http.Header{"Accept-Encoding": {"br, gzip"}},
			wrong: "requests listing the same codings in another order would share a variant, which this cache does not promise"},
		{name: "4.1 values of fields the cache does not normalise are compared case-sensitively", vary: "X-Variant",
			stored: http.Header{"X-Variant": {"en"}}, req: http.Header{"X-Variant": {"EN"}},
			wrong: "values differing in case would be taken as equal"},
		{name: "4.1 every named field must match", vary: "Accept, Accept-Encoding",
			stored: http.Header{"Accept": {"text/html"}, "Accept-Encoding": {"gzip"}},
			req:    http.Header{"Accept": {"text/html"}, "Accept-Encoding": {"br"}},
			wrong:  "a response varying on two fields would be served when only the first matches"},
		{name: "4.1 fields not named are ignored", vary: "Accept",
			stored: http.Header{"Accept": {"text/html"}, "Cookie": {"a=1"}},
			req:    http.Header{"Accept": {"text/html"}, "Cookie": {"a=2"}}, want: true,
			wrong: "a field the response does not vary on would cause a miss"},
		{name: "4.1 no Vary matches any request", vary: "",
			stored: http.Header{"Accept": {"text/html"}}, req: http.Header{"Accept": {"image/png"}}, want: true,
			wrong: "a response without Vary would not be reused"},
		{name: "4.1 whitespace inside a quoted string is significant", vary: "Prefer",
			stored: http.Header{"Prefer": {`foo="a, b"`}}, req: http.Header{"Prefer": {`foo="a,b"`}},
			wrong: "a request whose quoted-string value differs from the stored one would get the stored variant"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			names, ok := VaryNames(http.Header{"Vary": {tc.vary}})
			require.True(t, ok)
			assert.Equal(t, tc.want, VaryMatches(names, tc.stored, tc.req), "%s", tc.wrong)
			// Matching is symmetric: the roles of the two requests do not matter.
			assert.Equal(t, tc.want, VaryMatches(names, tc.req, tc.stored), "swapped: %s", tc.wrong)
		})
	}

	t.Run("4.1 a request matches what varyHeader stored for it", func(t *testing.T) {
		t.Parallel()
		names, _ := VaryNames(http.Header{"Vary": {"accept, Accept-Language, Origin"}})
		first := http.Header{"Accept": {"text/html"}, "Accept-Language": {"en", "fr"}, "Cookie": {"x"}}
		stored := VaryHeader(first, names)
		assert.True(t, VaryMatches(names, stored, first), "a repeated request would never hit its own stored response")
		assert.True(t, VaryMatches(names, stored, http.Header{"Accept": {"text/html"}, "Accept-Language": {"en,fr"}}),
			"the same request with its Accept-Language on one line would miss")
		assert.False(t, VaryMatches(names, stored, http.Header{"Accept": {"text/html"}, "Accept-Language": {"en"}, "Origin": {"https://a.example"}}),
			"a request with a different Accept-Language and an Origin would get another request's variant")
	})
}

func TestPolicyNormalizedList(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name   string
		values []string
		want   string
	}{
		{"RFC 9110 5.3 no lines", nil, ""},
		{"RFC 9110 5.3 one plain value is kept", []string{"gzip"}, "gzip"},
		{"RFC 9110 5.3 lines are joined with commas", []string{"gzip", "br"}, "gzip,br"},
		{"RFC 9110 5.6.1 OWS around members is removed", []string{" gzip ,\tbr "}, "gzip,br"},
		{"RFC 9110 5.6.1 spaces inside a member are kept", []string{"text/html; q=0.5"}, "text/html; q=0.5"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, NormalizedList(tc.values), "requests would be compared on the wrong Vary value")
		})
	}
}

func TestPolicyStoredHeader(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name   string
		header http.Header
		shared bool
		want   http.Header
		wrong  string
	}{
		{
			name: "3.1 the fields Connection names are not stored",
			header: http.Header{"Connection": {"X-Hop"}, "X-Hop": {"secret"},
				"Content-Type": {"text/plain"}},
			want:  http.Header{"Content-Type": {"text/plain"}},
			wrong: "a hop-by-hop field named by Connection would be replayed to later clients",
		},
		{
			name: "3.1 several Connection names over several lines in odd case",
			header: http.Header{"Connection": {"x-ONE, X-two", "  x-three\t", "close"},
				"X-One": {"1"}, "X-Two": {"2"}, "X-Three": {"3"}, "X-Four": {"4"}},
			want:  http.Header{"X-Four": {"4"}},
			wrong: "a hop-by-hop field named by Connection would be replayed to later clients",
		},
		{
			name: "3.1 a Connection name with empty members",
			header: http.Header{"Connection": {",, X-Hop ,,"}, "X-Hop": {"1"},
				"X-Kept": {"yes"}},
			want:  http.Header{"X-Kept": {"yes"}},
			wrong: "a hop-by-hop field named by Connection would be replayed to later clients",
		},
		{
			name: "3.1 proxy fields are not stored",
			header: http.Header{"Proxy-Authenticate": {"Basic"}, "Proxy-Authentication-Info": {"x"},
				"Proxy-Authorization": {"Basic abc"}, "Www-Authenticate": {"Basic"}},
			want:  http.Header{"Www-Authenticate": {"Basic"}},
			wrong: "proxy credentials or challenges would be replayed to other clients",
		},
		{
			name: "5.2.2.7 qualified private fields are not stored by a shared cache",
			header: http.Header{"Cache-Control": {`private="Set-Cookie, X-Secret", max-age=60`},
				"Set-Cookie": {"a=b"}, "X-Secret": {"s"}, "Content-Type": {"text/plain"}},
			shared: true,
			want: http.Header{"Cache-Control": {`private="Set-Cookie, X-Secret", max-age=60`},
				"Content-Type": {"text/plain"}},
			wrong: "a shared cache would hand one user's private fields to everyone",
		},
		{
			name: "5.2.2.7 qualified private fields are stored by a private cache",
			header: http.Header{"Cache-Control": {`private="X-User"`},
				"X-User": {"alice"}},
			want: http.Header{"Cache-Control": {`private="X-User"`},
				"X-User": {"alice"}},
			wrong: "a private cache would drop fields meant for its own user",
		},
		{
			name: "5.2.2.4 qualified no-cache fields are stored",
			header: http.Header{"Cache-Control": {`no-cache="X-Token"`},
				"X-Token": {"t"}},
			shared: true,
			want: http.Header{"Cache-Control": {`no-cache="X-Token"`},
				"X-Token": {"t"}},
			wrong: "a no-cache field would be lost and missing after revalidation",
		},
		{
			name: "3.1 end-to-end fields are kept, with all their values",
			header: http.Header{"Content-Type": {"text/html"}, "Etag": {`"v1"`},
				"Link": {"</a>; rel=preload", "</b>; rel=preload"}, "Vary": {"Accept"}, "Date": {policyAt(0)}},
			shared: true,
			want: http.Header{"Content-Type": {"text/html"}, "Etag": {`"v1"`},
				"Link": {"</a>; rel=preload", "</b>; rel=preload"}, "Vary": {"Accept"}, "Date": {policyAt(0)}},
			wrong: "an end-to-end field would be missing from cached responses",
		},
		{
			name: "7.3 a shared cache does not store Set-Cookie",
			header: http.Header{"Cache-Control": {"public, max-age=60"},
				"Set-Cookie": {"a=1", "b=2"}, "Content-Type": {"text/plain"}},
			shared: true,
			want: http.Header{"Cache-Control": {"public, max-age=60"},
				"Content-Type": {"text/plain"}},
			wrong: "a shared cache would hand one user's cookies to everyone",
		},
		{
			name: "7.3 a private cache does not store Set-Cookie either",
			header: http.Header{"Cache-Control": {"max-age=60"},
				"Set-Cookie": {"a=1", "b=2"}, "Set-Cookie2": {"c=3"}, "Content-Type": {"text/plain"}},
			want: http.Header{"Cache-Control": {"max-age=60"},
				"Content-Type": {"text/plain"}},
			wrong: "a cookie jar fed from the cache would take another client's session, or roll its own back",
		},
		{
			name:   "3.1 a nil header gives an empty one",
			header: nil,
			want:   http.Header{},
			wrong:  "a response without fields would crash or store a nil header",
		},
	}
	for _, tc := range rows {
		for _, shared := range []bool{tc.shared, !tc.shared} {
			if shared != tc.shared && tc.header["Cache-Control"] != nil {
				continue // the mode matters for these rows: only run the one given
			}
			t.Run(fmt.Sprintf("%s (shared=%v)", tc.name, shared), func(t *testing.T) {
				t.Parallel()
				before := tc.header.Clone()
				got := StoredHeader(tc.header, httpsyntax.ParseResponseCacheControl(tc.header), shared)
				assert.Equal(t, tc.want, got, "%s", tc.wrong)
				assert.Equal(t, before, tc.header, "storing a response would change the header the caller reads")
			})
		}
	}

	t.Run("3.1 every hop-by-hop field is removed", func(t *testing.T) {
		t.Parallel()
		for _, name := range hopByHopFields {
			for _, shared := range []bool{false, true} {
				h := http.Header{name: {"x"}, "X-Kept": {"yes"}}
				got := StoredHeader(h, httpsyntax.CacheControl{}, shared)
				assert.Equal(t, http.Header{"X-Kept": {"yes"}}, got,
					"the hop-by-hop field %s would be replayed to later clients (shared=%v)", name, shared)
				assert.Equal(t, http.Header{name: {"x"}, "X-Kept": {"yes"}}, h,
					"storing a response would remove %s from the header the caller reads", name)
			}
		}
	})

	t.Run("3.1 the hop-by-hop list covers RFC 9110 7.6.1 and the proxy fields", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Transfer-Encoding", "Upgrade",
			"Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization"} {
			assert.Contains(t, hopByHopFields, name, "the field %s would be stored and replayed to later clients", name)
		}
	})

	t.Run("3.1 the copy is independent of the input", func(t *testing.T) {
		t.Parallel()
		in := http.Header{"X-Kept": {"a"}}
		got := StoredHeader(in, httpsyntax.CacheControl{}, false)
		got["X-Kept"][0] = "changed"
		got.Set("X-New", "1")
		assert.Equal(t, http.Header{"X-Kept": {"a"}}, in, "editing a stored header would change the response the caller reads")
	})
}

// TestPolicyVerdict is the table of what the cache does with a request, given
// what it found: one row per rule of RFC 9111 Sections 4 and 5.2.1.
func TestPolicyVerdict(t *testing.T) {
	t.Parallel()
	meta := func(cc string, lifetime time.Duration) *Facts {
		return &Facts{CC: httpsyntax.ParseResponseCacheControl(http.Header{"Cache-Control": {cc}}), Lifetime: lifetime}
	}
	req := func(cc string) httpsyntax.CacheControl {
		return httpsyntax.ParseRequestCacheControl(http.Header{"Cache-Control": {cc}})
	}
	withValidator := func(m *Facts) *Facts {
		v := *m
		v.Validator = true
		return &v
	}
	fresh := meta("max-age=60", time.Minute)
	rows := []struct {
		name  string
		found Found
		want  Verdict
	}{
		{"4 nothing stored for the URI", Found{Resendable: true},
			Verdict{Action: Forward, Fwd: FwdURIMiss}},
		{"4.1 stored, for another variant", Found{VaryMiss: true, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdVaryMiss}},
		{"4.2 fresh is served", Found{Facts: fresh, Age: 30 * time.Second, Resendable: true},
			Verdict{Action: Serve}},
		{"4.2 fresh, several ranges go to the origin", Found{Facts: fresh, Ranges: httpsyntax.RangeForward, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdRequest, Reason: ReasonMultipleRanges}},
		{"4.3.1 stale with a validator is revalidated", Found{Facts: withValidator(fresh), Age: 2 * time.Minute, Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdStale}},
		{"4.3.1 stale without a validator goes forward", Found{Facts: fresh, Age: 2 * time.Minute, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdStale}},
		{"5.2.2.4 no-cache is revalidated even when fresh", Found{Facts: withValidator(meta("no-cache, max-age=60", time.Minute)), Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdStale}},
		{"5.2.1.4 a request's no-cache revalidates a fresh response", Found{Facts: withValidator(fresh), ReqCC: req("no-cache"), Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdRequest}},
		{"5.2.1.1 a request's max-age=0 revalidates", Found{Facts: withValidator(fresh), Age: time.Second, ReqCC: req("max-age=0"), Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdRequest}},
		{"4.3.2 the caller's own validators go to the origin as they are", Found{Facts: withValidator(fresh), Age: 2 * time.Minute, Conditionals: true, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdStale}},
		{"4.3.4 a request that cannot be sent twice is not revalidated", Found{Facts: withValidator(fresh), Age: 2 * time.Minute},
			Verdict{Action: Forward, Fwd: FwdStale}},
		{"4.2.4 max-stale serves a stale response", Found{Facts: fresh, Age: 90 * time.Second, ReqCC: req("max-stale=60"), Resendable: true},
			Verdict{Action: Serve}},
		{"5.2.2.2 must-revalidate overrides max-stale", Found{Facts: withValidator(meta("max-age=60, must-revalidate", time.Minute)), Age: 90 * time.Second, ReqCC: req("max-stale=60"), Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdStale}},
		{"5.2.1.7 only-if-cached is served when it can be", Found{Facts: fresh, ReqCC: req("only-if-cached"), Resendable: true},
			Verdict{Action: Serve}},
		{"5.2.1.7 only-if-cached with a stale response is 504", Found{Facts: withValidator(fresh), Age: 2 * time.Minute, ReqCC: req("only-if-cached"), Resendable: true},
			Verdict{Action: GatewayTimeout, Fwd: FwdMiss, Reason: ReasonOnlyIfCached}},
		{"5.2.1.7 only-if-cached with nothing stored is 504", Found{ReqCC: req("only-if-cached"), Resendable: true},
			Verdict{Action: GatewayTimeout, Fwd: FwdMiss, Reason: ReasonOnlyIfCached}},
		{"RFC5861/3 stale inside stale-while-revalidate is served, and refreshed", Found{Facts: withValidator(meta("max-age=60, stale-while-revalidate=30", time.Minute)), Age: 70 * time.Second, Resendable: true},
			Verdict{Action: ServeStale, Reason: ReasonStaleWhileRevalidate}},
		{"RFC5861/3 only-if-cached takes a stale-while-revalidate response", Found{Facts: meta("max-age=60, stale-while-revalidate=30", time.Minute), Age: 70 * time.Second, ReqCC: req("only-if-cached"), Resendable: true},
			Verdict{Action: ServeStale, Reason: ReasonStaleWhileRevalidate}},
		{"RFC5861/3 past the window it is revalidated", Found{Facts: withValidator(meta("max-age=60, stale-while-revalidate=30", time.Minute)), Age: 100 * time.Second, Resendable: true},
			Verdict{Action: Revalidate, Fwd: FwdStale}},
		{"5.2.2.10 s-maxage in a shared cache forbids serving stale", Found{Facts: meta("s-maxage=60", time.Minute), Age: 90 * time.Second, ReqCC: req("max-stale"), Shared: true, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdStale}},
		{"Fetch reload mode goes to the origin over a fresh response", Found{Facts: withValidator(fresh), Mode: ModeReload, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdRequest, Reason: ReasonReloadMode}},
		{"Fetch reload mode with nothing stored is a miss", Found{Mode: ModeReload, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdURIMiss}},
		{"Fetch force-cache mode serves a stale response", Found{Facts: withValidator(fresh), Age: time.Hour, Mode: ModeForceCache, Resendable: true},
			Verdict{Action: Serve}},
		{"Fetch force-cache mode serves a no-cache response without validation", Found{Facts: withValidator(meta("no-cache", 0)), Mode: ModeForceCache, Resendable: true},
			Verdict{Action: Serve}},
		{"Fetch force-cache mode with several ranges goes to the origin", Found{Facts: fresh, Age: time.Hour, Ranges: httpsyntax.RangeForward, Mode: ModeForceCache, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdStale}},
		{"Fetch force-cache mode for another variant goes to the origin", Found{VaryMiss: true, Mode: ModeForceCache, Resendable: true},
			Verdict{Action: Forward, Fwd: FwdVaryMiss}},
		{"Fetch only-if-cached mode serves a stale response", Found{Facts: fresh, Age: time.Hour, Mode: ModeOnlyIfCached, Resendable: true},
			Verdict{Action: Serve}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, DecideVerdict(&tc.found))
		})
	}
}

func TestPolicyStaleOnErrorAllowed(t *testing.T) {
	t.Parallel()
	meta := func(cc string) *Facts {
		return &Facts{CC: httpsyntax.ParseResponseCacheControl(http.Header{"Cache-Control": {cc}}), Lifetime: time.Minute}
	}
	req := func(cc string) httpsyntax.CacheControl {
		return httpsyntax.ParseRequestCacheControl(http.Header{"Cache-Control": {cc}})
	}
	rows := []struct {
		name     string
		meta     *Facts
		reqCC    httpsyntax.CacheControl
		age      time.Duration
		shared   bool
		anyStale bool
		want     bool
	}{
		{"RFC5861/4 inside the response's window", meta("max-age=60, stale-if-error=120"), req(""), 3 * time.Minute, false, false, true},
		{"RFC5861/4 at the end of the window", meta("max-age=60, stale-if-error=120"), req(""), 3*time.Minute + 0, false, false, true},
		{"RFC5861/4 past the window", meta("max-age=60, stale-if-error=120"), req(""), 3*time.Minute + time.Second, false, false, false},
		{"RFC5861/4 no directive", meta("max-age=60"), req(""), 2 * time.Minute, false, false, false},
		{"RFC5861/4 the request's window", meta("max-age=60"), req("stale-if-error=90"), 2 * time.Minute, false, false, true},
		{"RFC5861/4 past the request's window", meta("max-age=60"), req("stale-if-error=30"), 2 * time.Minute, false, false, false},
		{"5.2.2.2 must-revalidate forbids it", meta("max-age=60, must-revalidate, stale-if-error=120"), req(""), 2 * time.Minute, false, false, false},
		{"5.2.2.4 no-cache forbids it", meta("no-cache, stale-if-error=120"), req(""), 2 * time.Minute, false, false, false},
		{"5.2.2.8 proxy-revalidate forbids it in a shared cache", meta("max-age=60, proxy-revalidate, stale-if-error=120"), req(""), 2 * time.Minute, true, false, false},
		{"5.2.2.8 proxy-revalidate does not in a private one", meta("max-age=60, proxy-revalidate, stale-if-error=120"), req(""), 2 * time.Minute, false, false, true},
		{"5.2.1.2 a request max-stale the staleness exceeds forbids it", meta("max-age=60, stale-if-error=120"), req("max-stale=30"), 2 * time.Minute, false, false, false},
		{"5.2.1.2 a request max-stale within the staleness allows it", meta("max-age=60, stale-if-error=120"), req("max-stale=90"), 2 * time.Minute, false, false, true},
		{"5.2.1.4 a request no-cache forbids it", meta("max-age=60, stale-if-error=120"), req("no-cache"), 2 * time.Minute, false, false, false},
		{"5.2.1.1 a request max-age the age passes forbids it", meta("max-age=60, stale-if-error=120"), req("max-age=0"), 2 * time.Minute, false, false, false},
		{"4.2.4 disconnected: however stale", meta("max-age=60"), req(""), 48 * time.Hour, false, true, true},
		{"4.2.4 disconnected: not past must-revalidate", meta("max-age=60, must-revalidate"), req(""), 2 * time.Minute, false, true, false},
		{"4.2.4 disconnected: not past s-maxage in a shared cache", meta("s-maxage=60"), req(""), 2 * time.Minute, true, true, false},
		{"5.2.2.10 s-maxage forbids the response's window in a shared cache", meta("s-maxage=60, stale-if-error=600"), req(""), 2 * time.Minute, true, false, false},
		{"5.2.2.10 s-maxage forbids the request's window in a shared cache", meta("s-maxage=60"), req("stale-if-error=600"), 2 * time.Minute, true, false, false},
		{"5.2.2.10 s-maxage does not in a private one", meta("max-age=60, s-maxage=60, stale-if-error=600"), req(""), 2 * time.Minute, false, false, true},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, StaleOnErrorAllowed(tc.meta, tc.reqCC, tc.age, tc.shared, tc.anyStale))
		})
	}
}

// TestPolicyStorableReportsEveryReason checks that storable returns every
// reason that applies, not the first: a rule's StoreAlways clears only the
// overridable ones, and must see the rest.
func TestPolicyStorableReportsEveryReason(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer a")
	resp := &http.Response{StatusCode: http.StatusOK, Request: req,
		Header: http.Header{"Cache-Control": {"no-store, private"}, "Vary": {"*"}}}
	got := Storable(req, httpsyntax.CacheControl{}, resp, httpsyntax.ParseResponseCacheControl(resp.Header), true)
	want := RefuseNoStore | RefusePrivate | RefuseAuthorization | RefuseVaryStar
	assert.Equal(t, want, got, "storable must report every refusal, so that StoreAlways's override cannot hide one")
	assert.Equal(t, "no-store", got.String(), "Cache-Status reports the first refusal")
	assert.Equal(t, RefusePrivate|RefuseAuthorization|RefuseVaryStar, got&^Overridable,
		"StoreAlways overrides no-store and nothing else of these")
}

// TestReasonsHaveDistinctDetails checks that every reason has a
// Cache-Status detail of its own, that ReasonOf reads each back, with what
// follows its ": ", and that each refusal's bit is its reason.
func TestReasonsHaveDistinctDetails(t *testing.T) {
	t.Parallel()
	seen := map[string]Reason{}
	for r := NoReason + 1; r < ReasonCount; r++ {
		d := r.String()
		require.NotEmpty(t, d, "reason %d has no detail", r)
		if other, dup := seen[d]; dup {
			t.Errorf("reasons %d and %d share the detail %q", other, r, d)
		}
		seen[d] = r
		got, rest, ok := ReasonOf(d)
		assert.True(t, ok && got == r && rest == "", "ReasonOf(%q) = %d, %q, %v", d, got, rest, ok)
		got, rest, ok = ReasonOf(d + ": dial tcp: refused")
		assert.True(t, ok && got == r && rest == "dial tcp: refused", "ReasonOf(%q: …) = %d, %q, %v", d, got, rest, ok)
	}
	_, _, ok := ReasonOf("no-storage")
	assert.False(t, ok, "a detail that only begins like a reason is none")
	for bit := Refusal(1); bit < 1<<refusalCount; bit <<= 1 {
		assert.Equal(t, bit, Refusal(1)<<(bit.Reason()-firstRefusal), "the refusal %b", bit)
		assert.Equal(t, bit.Reason().String(), bit.String())
	}
	assert.Equal(t, NoReason, Refusal(0).Reason())
}

// TestNewer checks the order in which a store replaces responses: the
// origin's Date first, the time received when the Dates are equal, missing
// or invalid.
func TestNewer(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	dated := func(d time.Time) http.Header { return http.Header{"Date": {d.Format(http.TimeFormat)}} }
	cases := []struct {
		name      string
		a         http.Header
		aReceived time.Time
		b         http.Header
		bReceived time.Time
		aIsNewer  bool
	}{
		{"a later Date wins over a later receipt", dated(at.Add(2 * time.Second)), at, dated(at), at.Add(time.Minute), true},
		{"an earlier Date loses to an earlier receipt", dated(at), at.Add(time.Minute), dated(at.Add(2 * time.Second)), at, false},
		{"equal Dates: the later receipt", dated(at), at.Add(time.Second), dated(at), at, true},
		{"equal Dates and receipts: not newer", dated(at), at, dated(at), at, false},
		{"no Date on one side: the receipts", http.Header{}, at.Add(time.Second), dated(at.Add(time.Hour)), at, true},
		{"an invalid Date: the receipts", http.Header{"Date": {"yesterday"}}, at, dated(at), at.Add(time.Second), false},
		{"two Date fields are none", http.Header{"Date": {at.Add(time.Hour).Format(http.TimeFormat), at.Format(http.TimeFormat)}}, at, dated(at), at.Add(time.Second), false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.aIsNewer, Newer(tc.a, tc.aReceived, tc.b, tc.bReceived), tc.name)
	}
}
