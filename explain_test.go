package acache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainReasons checks that Explain names, in words, every reason the
// Cache gives in a Cache-Status detail: one row per reason, each a response
// that gets it. A reason with no row fails the test.
func TestExplainReasons(t *testing.T) {
	t.Parallel()
	type row struct {
		detail  string
		opts    []Option
		backend Backend // nil: NewCache's default
		setup   func(c *Cache)
		method  string
		url     string // the path on the origin, or a whole URL
		header  http.Header
		// handler answers the explained request; prime, if set, is the
		// response stored first, after is how long the clock moves after it.
		handler func(w http.ResponseWriter, r *http.Request)
		prime   func(w http.ResponseWriter, r *http.Request)
		after   time.Duration
		// inner, if set, is the Transport's inner RoundTripper around the
		// origin's.
		inner  func(next http.RoundTripper) http.RoundTripper
		ctl    *Control // carried in the explained request's context
		stored bool     // the explained response is in the cache
		hit    bool
		stale  bool
	}
	cc := func(value string, status ...int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", value)
			if len(status) > 0 {
				w.WriteHeader(status[0])
			}
			io.WriteString(w, "body")
		}
	}
	fake := func(http.RoundTripper) http.RoundTripper { // a response without the network
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
	}
	rows := []row{
		{detail: "method", method: "POST", handler: cc("max-age=60")},
		{detail: "nil backend", backend: (*lru)(nil), handler: cc("max-age=60")},
		{detail: "body cut short", handler: cc("max-age=60"), inner: func(next http.RoundTripper) http.RoundTripper {
			return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err == nil { // the connection fails after 2 of the 4 bytes
					resp.Body = struct {
						io.Reader
						io.Closer
					}{io.MultiReader(io.LimitReader(resp.Body, 2), iotest.ErrReader(io.ErrUnexpectedEOF)), resp.Body}
				}
				return resp, err
			})
		}},
		{detail: "backend unavailable", backend: acachetestFree{newLRU()}, handler: cc("max-age=60"), setup: func(c *Cache) {
			for range breakerFailures { // failures in a row open the breaker
				done, err := c.breaker.allow()
				require.NoError(t, err)
				done(errors.New("the backend failed"))
			}
		}},
		{detail: "rule", handler: cc("max-age=60"), opts: []Option{WithRule(func(*http.Request, *http.Response) Rule {
			return Rule{Store: StoreNever}
		})}},
		{detail: "status", header: hdr("If-None-Match", `"x"`), handler: cc("max-age=60", http.StatusNotModified)},
		{detail: "partial content", header: hdr("Range", "bytes=0-1"), handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Range", "bytes 0-1/4")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "bo")
		}},
		{detail: "part of a stored response", header: hdr("Range", "bytes=0-1"), after: 2 * time.Second,
			prime: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=1")
				w.Header().Set("ETag", `"v"`)
				w.Header().Set("Accept-Ranges", "bytes")
				io.WriteString(w, "body")
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", `"v"`)
				w.Header().Set("Content-Range", "bytes 0-1/4")
				w.WriteHeader(http.StatusPartialContent)
				io.WriteString(w, "bo")
			}},
		{detail: "request no-store", header: hdr("Cache-Control", "no-store"), handler: cc("max-age=60")},
		{detail: "must-understand", handler: cc("must-understand, no-store", http.StatusAccepted)},
		{detail: "no-store", handler: cc("no-store")},
		{detail: "private", opts: []Option{WithShared()}, handler: cc("private, max-age=60")},
		{detail: "authorization", opts: []Option{WithShared()}, header: hdr("Authorization", "Bearer x"), handler: cc("max-age=60")},
		{detail: "vary *", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "*")
			cc("max-age=60")(w, r)
		}},
		{detail: "status not cacheable by default", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
		}},
		{detail: "authorization added below the cache", handler: cc("max-age=60"),
			inner: func(next http.RoundTripper) http.RoundTripper {
				return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
					req = req.Clone(req.Context())
					req.Header.Set("Authorization", "Bearer from-below")
					return next.RoundTrip(req)
				})
			}},
		{detail: "unframed body", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nclose-delimited")
			buf.Flush()
			conn.Close()
		}},
		{detail: "too large", opts: []Option{WithMaxBodySize(2)}, handler: cc("max-age=60")},
		{detail: "stale on arrival", handler: cc("max-age=0")},
		{detail: "cache error", handler: cc("max-age=60"),
			opts: []Option{WithPartitionBy(func(*http.Request) string { panic("broken partition") })}},
		{detail: "invalid request", header: http.Header{"X-Bad": {"a\x01b"}}, inner: fake},
		{detail: "precondition", header: hdr("If-Match", `"x"`), handler: cc("max-age=60")},
		{detail: "uncacheable URL", url: "http://origin.test/?a b", inner: fake},
		{detail: "only-if-cached", header: hdr("Cache-Control", "only-if-cached")},
		{detail: "no-store mode", ctl: &Control{Mode: ModeNoStore}, handler: cc("max-age=60")},
		{detail: "reload mode", ctl: &Control{Mode: ModeReload}, prime: cc("max-age=60"), handler: cc("max-age=60"), stored: true},
		{detail: "multiple ranges", header: hdr("Range", "bytes=0-0,2-2"), prime: cc("max-age=60"), handler: cc("max-age=60"), stored: true},
		{detail: "stale-while-revalidate", prime: cc("max-age=10, stale-while-revalidate=60"), after: 20 * time.Second,
			handler: cc("max-age=10"), stored: true, hit: true, stale: true},
		{detail: "stale-if-error", prime: cc("max-age=10, stale-if-error=60"), after: 20 * time.Second,
			handler: cc("max-age=10", http.StatusServiceUnavailable), stored: true, stale: true},
		{detail: "must-revalidate", prime: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v"`)
			cc("max-age=10, must-revalidate")(w, r)
		}, after: 20 * time.Second, inner: func(next http.RoundTripper) http.RoundTripper {
			var calls atomic.Int64
			return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				if calls.Add(1) > 1 {
					return nil, errors.New("unreachable")
				}
				return next.RoundTrip(req)
			})
		}},
	}
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.detail] = true
	}
	for r := policy.NoReason + 1; r < policy.ReasonCount; r++ {
		assert.True(t, covered[r.String()], "no row explains the detail %q", r)
	}

	for _, r := range rows {
		t.Run(r.detail, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			var requests atomic.Int64
			o := newOrigin(t, clock, func(w http.ResponseWriter, req *http.Request) {
				if requests.Add(1) == 1 && r.prime != nil {
					r.prime(w, req)
					return
				}
				if r.handler != nil {
					r.handler(w, req)
				}
			})
			opts := append([]Option{WithClock(clock.Now)}, r.opts...)
			c := NewCache(r.backend, opts...)
			var inner http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone() // Close closes it
			if r.inner != nil {
				inner = r.inner(inner)
			}
			tr := &Transport{Transport: inner, Cache: c}
			t.Cleanup(func() { tr.Close() })
			if r.setup != nil {
				r.setup(c)
			}
			url := o.URL + r.url
			if strings.HasPrefix(r.url, "http:") {
				url = r.url
			}
			if r.prime != nil {
				fetch(t, tr, "GET", url, nil)
				c.waitBackground()
				clock.Advance(r.after)
			}
			ctx := context.Background()
			if r.ctl != nil {
				ctx = WithControl(ctx, *r.ctl)
			}
			req, err := http.NewRequestWithContext(ctx, orDefault(r.method, "GET"), url, nil)
			require.NoError(t, err)
			for name, values := range r.header {
				req.Header[name] = values
			}
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.waitBackground()

			x := c.Explain(resp)
			assert.True(t, strings.HasPrefix(x.Reason, r.detail+": "), "the reason must name %q first: %q; Cache-Status %q", r.detail, x.Reason, resp.Header["Cache-Status"])
			if r.detail != "method" { // fwd=method says it
				assert.True(t, strings.HasPrefix(x.Status.Detail, r.detail), "the member's detail, as the body's end left it: %+v", x.Status)
			}
			if !r.stored {
				assert.False(t, x.Status.Stored, "the member, as the body's end left it, says stored: %+v", x.Status)
			}
			assert.Greater(t, len(x.Reason), len(r.detail)+20, "the reason must say it in words: %q", x.Reason)
			assert.Equal(t, r.stored, x.Stored, "stored: %s", x)
			assert.Equal(t, r.hit, x.Hit, "hit: %s", x)
			assert.Equal(t, r.stale, x.Stale, "stale: %s", x)
			assert.Contains(t, x.String(), x.Reason, "the sentence must give the reason")
			if !r.stored && c.Stats().Refusals > 0 {
				assert.EqualValues(t, 1, c.Stats().RefusalsByReason[r.detail], "the refusal is counted by the reason Explain gives")
			}
		})
	}
}

// TestExplainFreshness checks that Explain gives a stored response the
// freshness lifetime the Cache computes, with where it came from, and its
// age and time to live on a hit.
func TestExplainFreshness(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		shared bool
		opts   []Option
		header http.Header
		want   time.Duration
		from   string
	}{
		{name: "WithDefaultFreshness for a response without explicit freshness", opts: []Option{WithDefaultFreshness(2 * time.Minute)},
			header: hdr("Content-Type", "text/plain"), want: 2 * time.Minute, from: "policy"},
		{name: "WithMaxFreshness caps max-age", opts: []Option{WithMaxFreshness(time.Minute)},
			header: hdr("Cache-Control", "max-age=600"), want: time.Minute, from: "policy"},
		{name: "WithRule gives its own freshness", header: hdr("Cache-Control", "max-age=60"), want: 5 * time.Minute, from: "rule",
			opts: []Option{WithRule(func(*http.Request, *http.Response) Rule { return Rule{FreshFor: 5 * time.Minute} })}},
		{name: "RFC9111/4.2.1 max-age", header: hdr("Cache-Control", "max-age=60"), want: time.Minute, from: "max-age"},
		{name: "RFC9111/4.2.1 s-maxage in a shared cache", shared: true,
			header: hdr("Cache-Control", "max-age=60, s-maxage=120"), want: 2 * time.Minute, from: "s-maxage"},
		{name: "RFC9111/4.2.1 s-maxage ignored by a private cache",
			header: hdr("Cache-Control", "max-age=60, s-maxage=120"), want: time.Minute, from: "max-age"},
		{name: "RFC9111/4.2.1 Expires minus Date", header: hdr("Expires", at(90*time.Second)), want: 90 * time.Second, from: "Expires"},
		{name: "RFC9111/4.2.2 heuristic: a tenth of the time since Last-Modified",
			header: hdr("Last-Modified", at(-10*time.Hour)), want: time.Hour, from: "heuristic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				for name, values := range tc.header {
					w.Header()[name] = values
				}
				io.WriteString(w, "body")
			})
			opts := tc.opts
			if tc.shared {
				opts = append(opts, WithShared())
			}
			tr := newTestTransport(clock, opts...)
			c := tr.Cache

			resp, _ := fetch(t, tr, "GET", o.URL, nil)
			x := c.Explain(resp)
			assert.True(t, x.Stored, "stored: %s", x)
			assert.False(t, x.Hit, "hit: %s", x)
			assert.Equal(t, tc.want, x.FreshFor, "FreshFor: %s", x)
			assert.Equal(t, tc.from, x.FreshnessFrom, "FreshnessFrom: %s", x)
			assert.Equal(t, tc.want, x.TTL, "TTL on arrival: %s", x)
			assert.Zero(t, x.Age, "Age on arrival: %s", x)
			assert.Empty(t, x.Reason)

			clock.Advance(30 * time.Second)
			resp, _ = fetch(t, tr, "GET", o.URL, nil)
			x = c.Explain(resp)
			assert.True(t, x.Hit, "hit: %s", x)
			assert.Equal(t, tc.want, x.FreshFor, "FreshFor on a hit: %s", x)
			assert.Equal(t, 30*time.Second, x.Age, "Age on a hit: %s", x)
			assert.Equal(t, tc.want-30*time.Second, x.TTL, "TTL on a hit: %s", x)
			assert.Equal(t, fmt.Sprintf("Served from the cache (hit). Fresh for %v (%s), age 30s, %v left.",
				tc.want, tc.from, tc.want-30*time.Second), x.String())
		})
	}
}

// TestExplainWithoutCacheStatus checks the answer for a response that did not
// come through the Cache.
func TestExplainWithoutCacheStatus(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	x := c.Explain(&http.Response{StatusCode: 200, Header: http.Header{"Cache-Status": {"other; hit"}}})
	assert.Contains(t, x.Reason, "did not come through this Cache")
	assert.False(t, x.Stored)
	assert.True(t, strings.HasPrefix(x.String(), "Not explained: "), "%s", x)
	assert.Equal(t, "no response", c.Explain(nil).Reason)
}

// acachetestFree is a Backend that is not the LRU itself, so that the Cache
// calls it off the caller's goroutine, behind its circuit breaker.
type acachetestFree struct{ *lru }

// TestEveryReasonHasWords checks that every reason the Cache can give has
// words in Explain, with the rule behind it.
func TestEveryReasonHasWords(t *testing.T) {
	t.Parallel()
	for r := policy.NoReason + 1; r < policy.ReasonCount; r++ {
		words := reasonWords[r]
		assert.NotEmpty(t, words, "the reason %q has no words for Explain", r)
		_, said := reasonInWords(r.String(), 500)
		assert.True(t, strings.HasPrefix(said, r.String()+": ") && !strings.Contains(said, "%!"), "%q", said)
	}
}
