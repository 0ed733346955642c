package acache_test

// Tests for the defects of the second adversarial probe (rules, Vary'd
// credentials, 304s, partial content, stale serving, refreshes): each keeps
// one user's response from another, or wrong bytes from anyone. They use the
// exported API only.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

// refusalCase is one reason RFC 9111 or the cache gives for not storing a
// response, set up end to end: the request's fields, and what the origin
// answers.
type refusalCase struct {
	name string
	// only names the one mode the case is for ("shared" or "private"),
	// or is empty for both.
	only string
	// request are the request's fields; with auth, every request carries
	// its user's Authorization too.
	request http.Header
	auth    bool
	reply   func(user string) acachetest.Reply
	// below adds credentials under the cache (an auth transport inside it).
	below bool
	// sharedOnly reports a refusal that only a shared cache makes.
	sharedOnly bool
	// overridable reports what a rule with StoreAlways overrides: no-store
	// and a status not cacheable by default, nothing else.
	overridable bool
	// ruleFreshens reports a refusal that a rule's FreshFor removes (a
	// response stale on arrival is fresh for the rule's lifetime).
	ruleFreshens bool
}

// refusalCases are the refusals of RFC 9111 Section 3 and the cache's own,
// each on a response that would be stored without it, alone and beside an
// overridable one.
var refusalCases = []refusalCase{
	{name: "no-store", overridable: true, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store", user)
	}},
	{name: "status not cacheable by default", overridable: true, reply: func(user string) acachetest.Reply {
		return reply(500, "", user)
	}},
	{name: "no-store with Authorization", only: "private", auth: true, overridable: true, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store", user) // stored per user: the key has the partition
	}},
	{name: "authorization and no-store", only: "shared", auth: true, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store", user) // the override leaves authorization refused
	}},
	{name: "authorization", auth: true, sharedOnly: true, reply: func(user string) acachetest.Reply {
		return reply(200, "max-age=60", user)
	}},
	{name: "private", sharedOnly: true, reply: func(user string) acachetest.Reply {
		return reply(200, "private, max-age=60", user)
	}},
	{name: "private and no-store", only: "shared", reply: func(user string) acachetest.Reply {
		return reply(200, "no-store, private, max-age=60", user)
	}},
	{name: "private and no-store with Authorization", only: "shared", auth: true, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store, private", user)
	}},
	{name: "request no-store", request: http.Header{"Cache-Control": {"no-store"}}, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store, max-age=60", user)
	}},
	{name: "vary *", reply: func(user string) acachetest.Reply {
		r := reply(200, "max-age=60", user)
		r.Header.Set("Vary", "*")
		return r
	}},
	{name: "vary * and no-store", reply: func(user string) acachetest.Reply {
		r := reply(200, "no-store", user)
		r.Header.Set("Vary", "*")
		return r
	}},
	{name: "authorization added below the cache, and no-store", below: true, reply: func(user string) acachetest.Reply {
		return reply(200, "no-store, max-age=60", user)
	}},
	{name: "unframed body cut short, and no-store", reply: func(user string) acachetest.Reply {
		// A close-delimited body of 20,000 bytes cut at 7,000: the client
		// sees a clean end.
		r := reply(200, "no-store", user)
		r.Body = []byte(strings.Repeat("x", 20_000))
		r.Framing, r.Truncate, r.TruncateAt = acachetest.CloseDelimited, true, 7_000
		return r
	}},
	{name: "partial content, and no-store", reply: func(user string) acachetest.Reply {
		return reply(206, "no-store, max-age=60", user) // no Content-Range, no strong validator
	}},
	{name: "must-understand", reply: func(user string) acachetest.Reply {
		return reply(599, "must-understand, no-store, max-age=60", user)
	}},
	{name: "stale on arrival", ruleFreshens: true, reply: func(user string) acachetest.Reply {
		r := reply(200, "max-age=10", user)
		r.Header.Set("Age", "100")
		r.Header.Del("ETag") // nothing to revalidate it with
		return r
	}},
}

// reply is a response to user with cc as its Cache-Control, and a body that
// names the user. It has an entity-tag, so that a rule's StoreAlways stores
// it even without freshness.
func reply(status int, cc, user string) acachetest.Reply {
	h := http.Header{"Content-Type": {"text/plain"}, "Etag": {`"v"`}}
	if cc != "" {
		h.Set("Cache-Control", cc)
	}
	return acachetest.Reply{Status: status, Header: h, Body: []byte("for " + user)}
}

// TestSecurityRuleStoreAlwaysOverridesOnlyWhatItSays checks every rule ×
// refusal × mode: StoreAlways clears no-store and a status not cacheable by
// default, and nothing that keeps users apart or bytes whole; StoreNever
// refuses everything; no rule leaves RFC 9111 alone. Whatever is stored, a
// second user never gets the first user's response.
func TestSecurityRuleStoreAlwaysOverridesOnlyWhatItSays(t *testing.T) {
	t.Parallel()
	rules := []struct {
		name string
		rule acache.Rule
	}{
		{"none", acache.Rule{}},
		{"StoreAlways", acache.Rule{Store: acache.StoreAlways}},
		{"StoreAlways FreshFor", acache.Rule{Store: acache.StoreAlways, FreshFor: time.Hour}},
		{"FreshFor", acache.Rule{FreshFor: time.Hour}},
		{"StoreNever", acache.Rule{Store: acache.StoreNever}},
	}
	for _, rc := range refusalCases {
		for _, r := range rules {
			for _, mode := range []string{"private", "shared"} {
				if rc.only != "" && rc.only != mode {
					continue
				}
				t.Run(rc.name+"/"+r.name+"/"+mode, func(t *testing.T) {
					t.Parallel()
					shared := mode == "shared"
					refused := shared || !rc.sharedOnly
					always := r.rule.Store == acache.StoreAlways
					want := r.rule.Store != acache.StoreNever &&
						(!refused || always && rc.overridable || r.rule.FreshFor > 0 && rc.ruleFreshens)
					checkRefusal(t, rc, r.rule, shared, want)
				})
			}
		}
	}
}

// checkRefusal sends the case's request for user A, then for user B, and
// checks that A's response was stored or not as want says, and that B never
// gets A's when the origin told the two apart by their credentials.
func checkRefusal(t *testing.T, rc refusalCase, rule acache.Rule, shared, want bool) {
	t.Helper()
	origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
		user := req.Header.Get("Authorization")
		if user == "" {
			user = req.Header.Get("X-User")
		}
		return rc.reply(user)
	})
	opts := []acache.Option{acache.WithRule(func(*http.Request, *http.Response) acache.Rule { return rule })}
	if shared {
		opts = append(opts, acache.WithShared())
	}
	cache := acache.NewCache(nil, opts...)
	t.Cleanup(func() { cache.Close() })
	var inner http.RoundTripper = newInner(t)
	if rc.below {
		next := inner
		inner = roundTripFunc(func(req *http.Request) (*http.Response, error) {
			out := req.Clone(req.Context())
			out.Header.Set("Authorization", "Bearer below-"+req.Header.Get("X-User"))
			return next.RoundTrip(out)
		})
	}
	tr := &acache.Transport{Transport: inner, Cache: cache}
	fields := func(user string) map[string][]string {
		h := map[string][]string{"X-User": {user}}
		for name, values := range rc.request {
			h[name] = values
		}
		if rc.auth {
			h["Authorization"] = []string{"Bearer " + user}
		}
		return h
	}

	first, bodyA := fetchVia(t, tr, origin.URL+"/a", fields("A"))
	stored, err := cache.Inspect(context.Background(), origin.URL+"/a")
	require.NoError(t, err)
	status, _ := acache.CacheStatusOf(first)
	if want {
		assert.NotEmpty(t, stored, "the response was not stored (Cache-Status %q)", first.Header.Get("Cache-Status"))
		assert.True(t, status.Stored, "Cache-Status does not say stored: %q", first.Header.Get("Cache-Status"))
	} else {
		assert.Empty(t, stored, "the response was stored against a refusal the rule may not override (Cache-Status %q)",
			first.Header.Get("Cache-Status"))
		assert.False(t, status.Stored, "Cache-Status says stored: %q", first.Header.Get("Cache-Status"))
	}
	second, bodyB := fetchVia(t, tr, origin.URL+"/a", fields("B"))
	if rc.auth || rc.below {
		assert.NotEqual(t, bodyA, bodyB, "user B got user A's response (Cache-Status %q)", second.Header.Get("Cache-Status"))
	}
	if !want {
		assert.False(t, hit(second), "a response that was not to be stored was served from the cache")
	}
}

// TestSecurityStaleNeverServedPastSMaxAgeInASharedCache checks RFC 9111
// Section 5.2.2.10: s-maxage implies proxy-revalidate for a shared cache,
// which Section 4.2.4 then forbids to serve stale, whatever stale-if-error
// (RFC 5861 Section 4) the response or the request carries, and whatever
// stale-while-revalidate allows (Section 3). The caller gets what it would
// without a stored response: the origin's error response, or its error. A
// private cache ignores s-maxage and serves stale.
func TestSecurityStaleNeverServedPastSMaxAgeInASharedCache(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		response string // the stored response's Cache-Control
		request  string // the failed request's Cache-Control
		reset    bool   // the origin resets the connection instead of a 503
	}{
		{name: "response stale-if-error, 503", response: "max-age=1, s-maxage=1, stale-if-error=600"},
		{name: "response stale-if-error, reset", response: "max-age=1, s-maxage=1, stale-if-error=600", reset: true},
		{name: "request stale-if-error, 503", response: "max-age=1, s-maxage=1", request: "stale-if-error=600"},
		{name: "request stale-if-error, reset", response: "max-age=1, s-maxage=1", request: "stale-if-error=600", reset: true},
		{name: "stale-while-revalidate", response: "max-age=1, s-maxage=1, stale-while-revalidate=600"},
	}
	for _, tc := range cases {
		for _, shared := range []bool{true, false} {
			name := tc.name + map[bool]string{true: "/shared", false: "/private"}[shared]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				clock := newClock()
				var failing atomic.Bool
				origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
					if !failing.Load() {
						return acachetest.Reply{Header: http.Header{"Cache-Control": {tc.response},
							"Date": {clock.Now().Format(http.TimeFormat)}}, Body: []byte("stored")}
					}
					return acachetest.Reply{Status: http.StatusServiceUnavailable, Body: []byte("origin down")}
				})
				opts := []acache.Option{acache.WithClock(clock.Now)}
				if shared {
					opts = append(opts, acache.WithShared())
				}
				cache := acache.NewCache(nil, opts...)
				t.Cleanup(func() { cache.Close() })
				inner := newInner(t)
				tr := &acache.Transport{Cache: cache, Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
					if tc.reset && failing.Load() {
						return nil, syscall.ECONNRESET
					}
					return inner.RoundTrip(req)
				})}
				fetchVia(t, tr, origin.URL+"/a", nil)
				clock.Advance(10 * time.Second)
				failing.Store(true)

				req, err := http.NewRequest(http.MethodGet, origin.URL+"/a", nil)
				require.NoError(t, err)
				if tc.request != "" {
					req.Header.Set("Cache-Control", tc.request)
				}
				resp, err := tr.RoundTrip(req)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if shared {
						assert.NotEqual(t, "stored", string(body),
							"a shared cache served a response stale past its s-maxage (Cache-Status %q)", resp.Header.Get("Cache-Status"))
						assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the caller must get the origin's error response")
					} else {
						assert.Equal(t, "stored", string(body), "a private cache ignores s-maxage and serves stale")
					}
				} else {
					assert.True(t, shared && tc.reset, "the request failed: %v", err)
				}
			})
		}
	}
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock {
	return &testClock{now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSecurityPartWhoseBodyDisagreesWithItsContentRangeIsNotStored checks
// that a 206 is stored only as the bytes its Content-Range places (RFC 9111
// Section 3.3, RFC 9110 Section 14.4): a chunked part longer or shorter
// than its range is passed on but never stored, so no later range is served
// from junk bytes and no full GET is combined from them.
func TestSecurityPartWhoseBodyDisagreesWithItsContentRangeIsNotStored(t *testing.T) {
	t.Parallel()
	whole := make([]byte, 200)
	for i := range whole {
		whole[i] = byte('a' + i%26)
	}
	for _, n := range []int{150, 50} {
		t.Run(fmt.Sprintf("%d bytes for 0-99", n), func(t *testing.T) {
			t.Parallel()
			var lying atomic.Bool
			lying.Store(true)
			origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
				h := http.Header{"Etag": {`"v1"`}, "Accept-Ranges": {"bytes"}, "Cache-Control": {"max-age=600"}}
				if lying.Load() {
					h.Set("Content-Range", "bytes 0-99/200")
					junk := append(append([]byte(nil), whole[:100]...), []byte(strings.Repeat("!", 50))...)
					return acachetest.Reply{Status: http.StatusPartialContent, Header: h, Body: junk[:n], Framing: acachetest.Chunked}
				}
				return acachetest.Reply{Header: h, Body: whole}
			})
			cache := acache.NewCache(nil)
			t.Cleanup(func() { cache.Close() })
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, origin.URL+"/f", map[string][]string{"Range": {"bytes=0-99"}})
			stored, err := cache.Inspect(context.Background(), origin.URL+"/f")
			require.NoError(t, err)
			assert.Empty(t, stored, "a part whose body disagrees with its Content-Range was stored")

			lying.Store(false)
			resp, body := fetchVia(t, tr, origin.URL+"/f", map[string][]string{"Range": {"bytes=100-149"}})
			assert.False(t, hit(resp), "a range was served from bytes the origin did not place there")
			if resp.StatusCode == http.StatusPartialContent {
				assert.Equal(t, string(whole[100:150]), body)
			}
			resp, body = fetchVia(t, tr, origin.URL+"/f", nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, string(whole), body, "a full GET was combined with junk bytes")
			_, body = fetchVia(t, tr, origin.URL+"/f", nil)
			assert.Equal(t, string(whole), body, "the stored response holds junk bytes")
		})
	}
}

// TestSecurityFillLongerThanItsRangeIsNeitherServedNorStored checks the
// completion of a stored part (RFC 9111 Section 3.4): when the origin's
// answer for the missing range holds more bytes than its Content-Range, the
// caller never reads them as the representation, and nothing combined from
// them is stored.
func TestSecurityFillLongerThanItsRangeIsNeitherServedNorStored(t *testing.T) {
	t.Parallel()
	whole := make([]byte, 200)
	for i := range whole {
		whole[i] = byte('a' + i%26)
	}
	var fills atomic.Int64
	origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
		h := http.Header{"Etag": {`"v1"`}, "Accept-Ranges": {"bytes"}, "Cache-Control": {"max-age=600"}}
		switch req.Header.Get("Range") {
		case "bytes=0-99":
			h.Set("Content-Range", "bytes 0-99/200")
			return acachetest.Reply{Status: http.StatusPartialContent, Header: h, Body: whole[:100], Framing: acachetest.Chunked}
		case "bytes=100-199":
			if fills.Add(1) == 1 { // the first answer lies about its length
				h.Set("Content-Range", "bytes 100-199/200")
				junk := append(append([]byte(nil), whole[100:]...), []byte(strings.Repeat("!", 50))...)
				return acachetest.Reply{Status: http.StatusPartialContent, Header: h, Body: junk, Framing: acachetest.Chunked}
			}
			h.Set("Content-Range", "bytes 100-199/200")
			return acachetest.Reply{Status: http.StatusPartialContent, Header: h, Body: whole[100:], Framing: acachetest.Chunked}
		}
		return acachetest.Reply{Header: h, Body: whole}
	})
	cache := acache.NewCache(nil)
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/f", map[string][]string{"Range": {"bytes=0-99"}})

	req, err := http.NewRequest(http.MethodGet, origin.URL+"/f", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err, "the caller read a combined body with the origin's extra bytes as if it were whole")
	assert.LessOrEqual(t, len(body), len(whole))
	assert.Equal(t, string(whole[:len(body)]), string(body), "the caller got bytes that are not the representation's")

	resp, got := fetchVia(t, tr, origin.URL+"/f", nil)
	assert.Equal(t, string(whole), got, "the stored response was combined with junk bytes (Cache-Status %q)", resp.Header.Get("Cache-Status"))
}

// TestSecurityPartNeverReplacesACompleteResponse checks RFC 9111 Section
// 3.4 from the other side: an answer of the same representation (the same
// strong validator) whose body is cut short leaves the stored complete
// response in place, whether it came for a reload or a revalidation, and a
// background refresh never asks for the caller's range. An answer of
// another representation cut short removes the outdated stored one.
func TestSecurityPartNeverReplacesACompleteResponse(t *testing.T) {
	t.Parallel()
	const size = 100_000
	whole := []byte(strings.Repeat("0123456789", size/10))
	type step struct {
		ctl    *acache.Control
		header map[string][]string
	}
	cases := []struct {
		name     string
		cc       string // the stored response's Cache-Control
		etag     string // of the answer that is cut short
		ranges   bool   // the answer has Accept-Ranges: bytes
		step     step
		want     int // the status stored afterwards, 0 for nothing
		wantSize int
	}{
		{name: "reload, same validator", cc: "max-age=600", etag: `"v1"`, ranges: true,
			step: step{ctl: &acache.Control{Mode: acache.ModeReload}}, want: 200, wantSize: size},
		{name: "revalidation answered 200, same validator", cc: "max-age=0", etag: `"v1"`, ranges: true,
			want: 200, wantSize: size},
		{name: "revalidation answered 200, another validator", cc: "max-age=0", etag: `"v2"`, ranges: true,
			want: 206, wantSize: 10_000},
		{name: "revalidation answered 200, another validator, no ranges", cc: "max-age=0", etag: `"v2"`,
			want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cut atomic.Bool
			origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
				h := http.Header{"Etag": {`"v1"`}, "Accept-Ranges": {"bytes"}, "Cache-Control": {tc.cc}}
				if !cut.Load() {
					return acachetest.Reply{Header: h, Body: whole}
				}
				h.Set("Etag", tc.etag)
				if !tc.ranges {
					h.Del("Accept-Ranges")
				}
				return acachetest.Reply{Header: h, Body: whole, Truncate: true, TruncateAt: 10_000}
			})
			cache := acache.NewCache(nil)
			t.Cleanup(func() { cache.Close() })
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, origin.URL+"/big", nil)
			cut.Store(true)

			ctx := context.Background()
			if tc.step.ctl != nil {
				ctx = acache.WithControl(ctx, *tc.step.ctl)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin.URL+"/big", nil)
			require.NoError(t, err)
			if resp, err := tr.RoundTrip(req); err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				assert.Error(t, err, "the body was cut short")
				resp.Body.Close()
			}
			stored, err := cache.Inspect(context.Background(), origin.URL+"/big")
			require.NoError(t, err)
			if tc.want == 0 {
				assert.Empty(t, stored, "the outdated response stays stored")
				return
			}
			require.Len(t, stored, 1)
			assert.Equal(t, tc.want, stored[0].StatusCode, "what is stored after the cut")
			assert.Equal(t, strconv.Itoa(tc.wantSize), stored[0].Header.Get("Content-Length"))
		})
	}

	t.Run("stale-while-revalidate refresh drops the caller's Range", func(t *testing.T) {
		t.Parallel()
		clock := newClock()
		var ranged atomic.Int64
		origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
			if req.Header.Get("Range") != "" || req.Header.Get("If-Range") != "" {
				ranged.Add(1)
			}
			h := http.Header{"Etag": {`"v1"`}, "Accept-Ranges": {"bytes"}, "Date": {clock.Now().Format(http.TimeFormat)},
				"Cache-Control": {"max-age=10, stale-while-revalidate=600"}}
			if r := req.Header.Get("Range"); r == "bytes=0-9" {
				h.Set("Content-Range", fmt.Sprintf("bytes 0-9/%d", size))
				return acachetest.Reply{Status: http.StatusPartialContent, Header: h, Body: whole[:10]}
			}
			return acachetest.Reply{Header: h, Body: whole}
		})
		cache := acache.NewCache(nil, acache.WithClock(clock.Now))
		t.Cleanup(func() { cache.Close() })
		tr := &acache.Transport{Transport: newInner(t), Cache: cache}
		fetchVia(t, tr, origin.URL+"/big", nil)
		clock.Advance(20 * time.Second)
		resp, body := fetchVia(t, tr, origin.URL+"/big", map[string][]string{"Range": {"bytes=0-9"}})
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
		assert.Equal(t, string(whole[:10]), body)
		refreshed := func() bool {
			stored, err := cache.Inspect(context.Background(), origin.URL+"/big")
			return err == nil && len(stored) == 1 && stored[0].TTL > 0
		}
		assert.Eventually(t, refreshed, liveness, time.Millisecond, "the background refresh did not store the complete response")
		assert.Zero(t, ranged.Load(), "the background refresh asked the origin for the caller's range")
		stored, err := cache.Inspect(context.Background(), origin.URL+"/big")
		require.NoError(t, err)
		require.Len(t, stored, 1)
		assert.Equal(t, http.StatusOK, stored[0].StatusCode, "the refresh replaced the complete response with a part")
	})
}

// TestReliabilityOneRefreshPerKeyWhileItRuns checks that a key whose
// background refresh hangs (RFC 5861 Section 3) starts no second refresh
// after its flight has landed by the collapse wait, so that it holds one
// refresh slot, not all of them, and other stale keys are still refreshed.
func TestReliabilityOneRefreshPerKeyWhileItRuns(t *testing.T) {
	t.Parallel()
	clock := newClock()
	release := make(chan struct{})
	var hungRefreshes, otherRefreshes atomic.Int64
	var primed sync.Map
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=3600")
		if _, again := primed.LoadOrStore(r.URL.Path, true); again {
			switch r.URL.Path {
			case "/hung":
				hungRefreshes.Add(1)
				select { // the refresh hangs until the test ends
				case <-release:
				case <-r.Context().Done():
				}
				return
			case "/other":
				otherRefreshes.Add(1)
			}
		}
		w.Write([]byte("body"))
	})
	t.Cleanup(func() { close(release) }) // runs before the origin closes
	cache := acache.NewCache(nil, acache.WithClock(clock.Now), acache.WithCollapseWait(20*time.Millisecond))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, o.URL+"/hung", nil)
	fetchVia(t, tr, o.URL+"/other", nil)
	clock.Advance(10 * time.Second)

	for range 40 { // over 400 ms, many collapse waits
		resp, body := fetchVia(t, tr, o.URL+"/hung", nil)
		require.True(t, hit(resp), "a stale response within its window is served at once")
		require.Equal(t, "body", body)
		time.Sleep(10 * time.Millisecond)
	}
	assert.Eventually(t, func() bool { return hungRefreshes.Load() == 1 }, liveness, time.Millisecond)
	assert.EqualValues(t, 1, hungRefreshes.Load(), "a key started another refresh while its first still ran")

	fetchVia(t, tr, o.URL+"/other", nil)
	assert.Eventually(t, func() bool { return otherRefreshes.Load() == 1 }, liveness, time.Millisecond,
		"another stale key was not refreshed")
}

// TestSecurityNotModifiedThatMakesAResponseUnstorableRemovesIt checks RFC
// 9111 Sections 4.3.4, 5.2.2.5 and 5.2.2.7: a 304 that freshens a stored
// response with directives this cache may not store it under (private in a
// shared cache, no-store) removes it instead of extending it, so it is never
// served again to another user; the revalidating caller gets it, with the
// reason in Cache-Status. A rule's StoreAlways still overrides no-store.
func TestSecurityNotModifiedThatMakesAResponseUnstorableRemovesIt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cc304  string
		shared bool
		rule   acache.StoreRule
		detail string // of the revalidating caller's Cache-Status; "" when stored
	}{
		{name: "private in a shared cache", cc304: "private, max-age=60", shared: true, detail: "private"},
		{name: "no-store in a shared cache", cc304: "no-store, max-age=60", shared: true, detail: "no-store"},
		{name: "no-store in a private cache", cc304: "no-store, max-age=60", detail: "no-store"},
		{name: "no-store under StoreAlways", cc304: "no-store, max-age=60", shared: true, rule: acache.StoreAlways},
		{name: "private under StoreAlways in a shared cache", cc304: "private, max-age=60", shared: true, rule: acache.StoreAlways, detail: "private"},
		{name: "public max-age", cc304: "public, max-age=60", shared: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
				w.Header().Set("ETag", `"v1"`)
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.Header().Set("Cache-Control", tc.cc304)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Cache-Control", "public, max-age=1")
				fmt.Fprintf(w, "for %s", r.Header.Get("X-User"))
			})
			opts := []acache.Option{acache.WithClock(clock.Now), acache.WithRule(func(*http.Request, *http.Response) acache.Rule {
				return acache.Rule{Store: tc.rule}
			})}
			if tc.shared {
				opts = append(opts, acache.WithShared())
			}
			cache := acache.NewCache(nil, opts...)
			t.Cleanup(func() { cache.Close() })
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, o.URL+"/p", map[string][]string{"X-User": {"A"}})
			clock.Advance(10 * time.Second)

			resp, body := fetchVia(t, tr, o.URL+"/p", map[string][]string{"X-User": {"A"}})
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "for A", body, "the revalidating caller gets the freshened response")
			status, _ := acache.CacheStatusOf(resp)
			assert.Equal(t, http.StatusNotModified, status.FwdStatus)
			assert.Equal(t, tc.detail, status.Detail, "Cache-Status %q", resp.Header.Get("Cache-Status"))
			assert.Equal(t, tc.detail == "", status.Stored, "Cache-Status %q", resp.Header.Get("Cache-Status"))

			before := o.hits.Load()
			resp, _ = fetchVia(t, tr, o.URL+"/p", map[string][]string{"X-User": {"B"}})
			if tc.detail != "" {
				assert.False(t, hit(resp), "another user got a response the origin no longer lets this cache store")
				assert.Equal(t, before+1, o.hits.Load())
			} else {
				assert.True(t, hit(resp), "the freshened response is served: %q", resp.Header.Get("Cache-Status"))
			}
		})
	}
}

// Credentials a test searches the stored bytes for.
const (
	secretToken  = "Bearer SECRET-TOKEN-4f1c"
	secretCookie = "session=SECRET-COOKIE-9b2e"
	secretProxy  = "Basic U0VDUkVULVBST1hZ"
)

// credentialFields are request fields with the credentials above, and a
// tenant, which the tests' origins vary on.
func credentialFields(token string) map[string][]string {
	return map[string][]string{
		"Authorization":       {token},
		"Cookie":              {secretCookie},
		"Proxy-Authorization": {secretProxy},
		"X-Tenant":            {"tenant-7"},
	}
}

// varyOnCredentials is an origin whose responses any cache may store and that
// vary on credentials and a tenant.
func varyOnCredentials(t *testing.T) *countingOrigin {
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Vary", "Authorization, Cookie, Proxy-Authorization, X-Tenant")
		auth := r.Header.Get("Authorization")
		fmt.Fprintf(w, "for ...%s", auth[max(0, len(auth)-4):]) // not the credential itself
	})
}

// TestSecurityCredentialsAreNeverStoredInClear checks that the values of
// Authorization, Cookie and Proxy-Authorization that an entry keeps for Vary
// (RFC 9111 Section 4.1) are a keyed hash in the durable encoding, and that
// Stored says nothing of them; matching still works, by the hash.
func TestSecurityCredentialsAreNeverStoredInClear(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "shared", false: "private"}[shared], func(t *testing.T) {
			t.Parallel()
			o := varyOnCredentials(t)
			backend := newBytesBackend()
			opts := []acache.Option{acache.WithPartitionBy(func(r *http.Request) string { return r.Header.Get("X-Tenant") })}
			if shared {
				opts = append(opts, acache.WithShared())
			}
			cache := acache.NewCache(backend, opts...)
			t.Cleanup(func() { cache.Close() })
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, o.URL+"/c", credentialFields(secretToken))
			resp, body := fetchVia(t, tr, o.URL+"/c", credentialFields(secretToken))
			require.True(t, hit(resp), "the same credentials select the stored response: %q", resp.Header.Get("Cache-Status"))
			assert.Equal(t, "for ...4f1c", body)
			resp, body = fetchVia(t, tr, o.URL+"/c", credentialFields("Bearer another"))
			assert.False(t, hit(resp), "other credentials selected the stored response")
			assert.Equal(t, "for ...ther", body)

			backend.mu.Lock()
			require.NotEmpty(t, backend.data)
			for key, data := range backend.data {
				for _, secret := range []string{"SECRET-TOKEN-4f1c", "SECRET-COOKIE-9b2e", "U0VDUkVULVBST1hZ"} {
					assert.NotContains(t, string(data), secret, "the entry under %q keeps a credential in clear", key)
				}
			}
			backend.mu.Unlock()

			stored, err := cache.Inspect(context.Background(), o.URL+"/c")
			require.NoError(t, err)
			require.NotEmpty(t, stored)
			for _, s := range stored {
				for _, name := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
					assert.Equal(t, []string{"redacted"}, s.VaryHeader[name], "Stored tells the %s of a copy", name)
				}
				assert.Equal(t, []string{"tenant-7"}, s.VaryHeader["X-Tenant"], "other fields are kept as sent")
			}
		})
	}
}

// TestSecurityStoreThatEvictsItsOwnIndexDoesNotLand checks RFC 9111
// Section 4.4 on a small cache: when making room for a user's copy evicts
// the URI's index that lists it, the copy is not stored, since no
// invalidation of the URI could reach it afterwards.
func TestSecurityStoreThatEvictsItsOwnIndexDoesNotLand(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "%s for %q", r.URL.Path, r.Header.Get("Authorization"))
	})
	// A backend other than the LRU itself: a hit's recency reaches it later.
	backend := acachetest.NewFaultyBackend(acache.NewLRU())
	cache := acache.NewCache(backend, acache.WithMaxEntries(2))
	t.Cleanup(func() { cache.Close() })
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	bob := map[string][]string{"Authorization": {"Bearer bob"}}

	fetchVia(t, tr, o.URL+"/p", bob) // bob's copy, and the URI's index listing it
	fetchVia(t, tr, o.URL+"/p", nil) // the URI's own response, keeping the index
	fetchVia(t, tr, o.URL+"/q", nil) // evicts bob's copy; the index still lists it
	fetchVia(t, tr, o.URL+"/p", bob) // bob's copy again: making room evicts the index

	req, err := http.NewRequest(http.MethodPost, o.URL+"/p", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	resp, _ = fetchVia(t, tr, o.URL+"/p", bob)
	assert.False(t, hit(resp), "a copy stored unlisted escaped the invalidation of its URI by a POST")
}

// TestSecurityAnIndexNeverReachesAnotherURL checks the one walk over a
// URI's index of partitions: a corrupt index stored for URL A that lists
// URL B's key removes nothing of B, whether A is invalidated (RFC 9111
// Section 4.4), purged or evicted.
func TestSecurityAnIndexNeverReachesAnotherURL(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"invalidated", "purged", "evicted"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				io.WriteString(w, r.URL.Path)
			})
			lru := acache.NewLRU()
			cache := acache.NewCache(lru, acache.WithMaxEntries(3))
			t.Cleanup(func() { cache.Close() })
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, o.URL+"/b", nil)
			keyA, keyB := "GET "+o.URL+"/a", "GET "+o.URL+"/b"
			require.NoError(t, lru.Set(context.Background(), keyA, &acache.Entry{Key: keyA, Partitions: []string{keyB}}))

			switch how {
			case "invalidated":
				req, err := http.NewRequest(http.MethodPost, o.URL+"/a", nil)
				require.NoError(t, err)
				resp, err := tr.RoundTrip(req)
				require.NoError(t, err)
				resp.Body.Close()
			case "purged":
				require.NoError(t, cache.Purge(context.Background(), o.URL+"/a"))
			case "evicted":
				fetchVia(t, tr, o.URL+"/b", nil) // B is more recent than A
				fetchVia(t, tr, o.URL+"/c", nil)
				fetchVia(t, tr, o.URL+"/d", nil) // makes room: A, the oldest, is evicted
			}
			resp, _ := fetchVia(t, tr, o.URL+"/b", nil)
			assert.True(t, hit(resp), "URL B's response was removed through URL A's index: %q", resp.Header.Get("Cache-Status"))
		})
	}
}
