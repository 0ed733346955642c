package acache

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
)

// policyT0 is when the responses of these tests were received.
var policyT0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// policyAt formats policyT0+d as an IMF-fixdate HTTP-date.
func policyAt(d time.Duration) string { return policyT0.Add(d).Format(http.TimeFormat) }

// policyMaxDelta is 2^31 seconds, the clamp of RFC 9111 Section 1.2.2.
const policyMaxDelta = time.Duration(1<<31) * time.Second

// What the Cache derives from a stored response (entryMeta), over the rules
// of internal/policy.

func TestPolicyCurrentAge(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name       string
		initialAge time.Duration
		now        time.Duration // relative to the response time, policyT0
		want       time.Duration
		wrong      string
	}{
		{"4.2.3 resident time is added", 30 * time.Second, 60 * time.Second, 90 * time.Second,
			"a response would not age while it sits in the cache and would be served stale"},
		{"4.2.3 no resident time at receipt", 30 * time.Second, 0, 30 * time.Second,
			"a response would age before it is even stored"},
		{"4.2.3 a clock that went back adds no negative resident time", 30 * time.Second, -time.Hour, 30 * time.Second,
			"a local clock step back would make a stored response younger and fresh again"},
		{"4.2.3 resident time from zero initial age", 0, 24 * time.Hour, 24 * time.Hour,
			"a response would not age while it sits in the cache"},
		{"1.2.2 the oldest initial age plus resident time saturates", policyMaxDelta, time.Hour, policyMaxDelta,
			"the sum would pass 2^31 seconds, and with a larger one wrap negative and look fresh"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &policy.Facts{InitialAge: tc.initialAge}
			assert.Equal(t, tc.want, policy.CurrentAge(m, policyT0, policyT0.Add(tc.now)), "current_age: %s", tc.wrong)
		})
	}

	t.Run("1.2.2 a response time of zero (a decoded entry) saturates", func(t *testing.T) {
		t.Parallel()
		m := &policy.Facts{InitialAge: 5 * time.Second}
		assert.Equal(t, policyMaxDelta, policy.CurrentAge(m, time.Time{}, policyT0),
			"now minus a zero response time saturates; adding the initial age would wrap negative and look fresh")
	})

	t.Run("4.2.3 current_age from a derived entry", func(t *testing.T) {
		t.Parallel()
		e := &Entry{
			StatusCode: http.StatusOK,
			Proto:      "HTTP/1.1",
			Header: http.Header{
				"Cache-Control": {"max-age=600"},
				"Date":          {policyAt(-10 * time.Second)},
				"Age":           {"5"},
			},
			RequestTime:  policyT0.Add(-2 * time.Second),
			ResponseTime: policyT0,
		}
		m := deriveMeta(e, &derivation{shared: false})
		// max(apparent 10s, Age 5s + delay 2s) + resident 100s.
		assert.Equal(t, 110*time.Second, policy.CurrentAge(&m.Facts, e.ResponseTime, policyT0.Add(100*time.Second)),
			"a stored response would be served with the wrong Age and for the wrong time")
	})
}

func TestPolicyDeriveMeta(t *testing.T) {
	t.Parallel()
	entry := func(status int, proto string, h http.Header) *Entry {
		return &Entry{
			StatusCode:   status,
			Proto:        proto,
			Header:       h,
			RequestTime:  policyT0.Add(-time.Second),
			ResponseTime: policyT0,
		}
	}

	t.Run("4 hitHeader leaves out Age, X-From-Cache and qualified no-cache fields", func(t *testing.T) {
		t.Parallel()
		h := http.Header{
			"Cache-Control": {`max-age=60, no-cache="Set-Cookie, X-Token"`},
			"Age":           {"5"},
			"X-From-Cache":  {"1"},
			"Set-Cookie":    {"a=b", "c=d"},
			"X-Token":       {"t"},
			"Date":          {policyAt(-10 * time.Second)},
			"Content-Type":  {"text/plain"},
			"X-Multi":       {"1", "2", "3"},
			"Vary":          {"accept-encoding, Accept"},
		}
		e := entry(http.StatusOK, "HTTP/1.1", h)
		m := deriveMeta(e, &derivation{shared: false})
		want := http.Header{
			"Cache-Control": {`max-age=60, no-cache="Set-Cookie, X-Token"`},
			"Date":          {policyAt(-10 * time.Second)},
			"Content-Type":  {"text/plain"},
			"X-Multi":       {"1", "2", "3"},
			"Vary":          {"accept-encoding, Accept"},
		}
		assert.True(t, m.withheld, "a hit would copy every stored field")
		served, spare := cloneHeader(e.Header, int(m.hitHeaderValues), 0, m.withheldOnHit)
		assert.Equal(t, want, served,
			"a hit would replay a stale Age, the cache's own marker, or a no-cache field without revalidation")
		assert.Empty(t, spare, "a hit would clone the header into a wrongly sized buffer")
		assert.Equal(t, int32(7), m.hitHeaderValues, "a hit would clone the header into a wrongly sized buffer")
		assert.Len(t, h["Age"], 1, "deriving the metadata would change the stored header")

		assert.Equal(t, 60*time.Second, m.Lifetime, "the stored response would get the wrong freshness lifetime")
		// max(apparent 10s, Age 5s + delay 1s).
		assert.Equal(t, 10*time.Second, m.InitialAge, "the stored response would be served with the wrong Age")
		assert.Equal(t, []string{"Accept-Encoding", "Accept"}, m.VaryNames, "the stored response would be matched on the wrong request fields")
		assert.Equal(t, []string{"Set-Cookie", "X-Token"}, m.CC.NoCacheFields, "the response's directives would be misread")
		assert.False(t, m.from.shared, "the metadata would claim the wrong cache mode")
	})

	t.Run("4 a header with nothing to withhold is served whole", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Cache-Control": {"max-age=60"}, "Date": {policyAt(0)}, "X-Multi": {"1", "2"}}
		e := entry(http.StatusOK, "HTTP/1.1", h)
		m := deriveMeta(e, &derivation{shared: false})
		assert.False(t, m.withheld, "a hit would ask of every field whether to withhold it")
		served, _ := cloneHeader(e.Header, int(m.hitHeaderValues), 0, nil)
		assert.Equal(t, h, served, "a hit would not serve the stored header")
	})

	t.Run("4.2.1 a shared cache derives the s-maxage lifetime", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Cache-Control": {"max-age=60, s-maxage=600"}, "Date": {policyAt(0)}}
		assert.Equal(t, 600*time.Second, deriveMeta(entry(http.StatusOK, "HTTP/1.1", h), &derivation{shared: true}).Lifetime,
			"a shared cache would ignore s-maxage")
		assert.Equal(t, 60*time.Second, deriveMeta(entry(http.StatusOK, "HTTP/1.1", h), &derivation{shared: false}).Lifetime,
			"a private cache would apply s-maxage")
		assert.True(t, deriveMeta(entry(http.StatusOK, "HTTP/1.1", h), &derivation{shared: true}).from.shared, "the metadata would claim the wrong cache mode")
	})

	t.Run("4.2.3 a missing Date counts from the time of receipt", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Expires": {policyAt(time.Hour)}}
		m := deriveMeta(entry(http.StatusOK, "HTTP/1.1", h), &derivation{shared: false})
		assert.Equal(t, time.Hour, m.Lifetime, "a response without Date would get the wrong lifetime from Expires")
		assert.Equal(t, time.Second, m.InitialAge, "a response without Date would get the wrong initial age")
	})

	statuses := []struct {
		code int
		want string
	}{
		{http.StatusOK, "200 OK"},
		{http.StatusNonAuthoritativeInfo, "203 Non-Authoritative Information"},
		{http.StatusNotFound, "404 Not Found"},
		{http.StatusGone, "410 Gone"},
		{http.StatusNotImplemented, "501 Not Implemented"},
		{299, "299 "},
		{99, "99 "},
		{600, "600 "},
		{999, "999 "},
	}
	for _, s := range statuses {
		t.Run("RFC 9110 15 status line "+s.want, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, s.want, statusLine(s.code), "a hit would carry the wrong status line")
		})
	}

	protos := []struct {
		proto        string
		major, minor int
	}{
		{"HTTP/1.1", 1, 1},
		{"HTTP/1.0", 1, 0},
		{"HTTP/2.0", 2, 0},
		{"garbage", 1, 1},
		{"", 1, 1},
		{"HTTP/x.y", 1, 1},
		{"HTTP/1.256", 1, 1},
	}
	for _, p := range protos {
		t.Run(fmt.Sprintf("RFC 9110 2.5 protocol version %q", p.proto), func(t *testing.T) {
			t.Parallel()
			m := deriveMeta(entry(http.StatusOK, p.proto, http.Header{}), &derivation{shared: false})
			assert.Equal(t, [2]int{p.major, p.minor}, [2]int{int(m.protoMajor), int(m.protoMinor)},
				"a hit would report the wrong protocol version")
		})
	}
}
