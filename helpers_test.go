package acache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file holds the fixtures the tests of several files share: a clock the
// test moves, origins that count requests, a Transport over a fresh Cache,
// request helpers, and the runner of the RFC cases.

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
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

// testOrigin is an httptest server that counts requests and stamps a Date from
// the test clock, if there is one, unless the handler sets its own.
type testOrigin struct {
	*httptest.Server
	hits atomic.Int64
}

func newOrigin(t *testing.T, clock *testClock, handler http.HandlerFunc) *testOrigin {
	t.Helper()
	o := &testOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if clock != nil {
			w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		}
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// testInner is the inner transport of the Transports newTestTransport
// returns. They see it without its CloseIdleConnections, so that a test that
// closes its Transport does not break the connections of the tests running
// beside it, as closing http.DefaultTransport's idle connections did;
// TestMain closes them once every test has run.
var testInner = http.DefaultTransport.(*http.Transport).Clone()

// unclosable hides the CloseIdleConnections of a RoundTripper.
type unclosable struct{ http.RoundTripper }

// newTestTransport returns a Transport over a fresh Cache on the test clock.
func newTestTransport(clock *testClock, opts ...Option) *Transport {
	opts = append([]Option{WithClock(clock.Now)}, opts...)
	t := NewTransport(NewCache(nil, opts...))
	t.Transport = unclosable{testInner}
	return t
}

// fetch sends a request through t and returns the response with its body read.
func fetch(t *testing.T, rt http.RoundTripper, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

func isHit(resp *http.Response) bool {
	s, ok := CacheStatusOf(resp)
	return ok && s.Hit
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// t0 is when every test clock starts.
var t0 = newTestClock().Now()

// at formats t0+d as an HTTP-date.
func at(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

// probe is one request of an RFC case, sent after the clock moved by after.
type probe struct {
	after  time.Duration
	method string      // GET if empty
	header http.Header // request header fields
	hit    bool        // want the response served from the cache
	status int         // want this status, if not 0
	noSend bool        // the origin is not contacted although it is not a hit
	check  func(t *testing.T, resp *http.Response)
}

// rfcCase is one rule of RFC 9111: what the origin answers, and what a series
// of requests should see.
type rfcCase struct {
	name   string
	shared bool
	status int         // the origin's status, 200 if 0
	header http.Header // the origin's header fields; Date defaults to the clock
	probes []probe
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func runRFCCases(t *testing.T, cases []rfcCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				for name, values := range tc.header {
					w.Header()[name] = values
				}
				if v, ok := tc.header["Date"]; ok && v[0] == "" {
					w.Header()["Date"] = nil // net/http sends no Date, rather than its own
				}
				w.WriteHeader(orDefault(tc.status, http.StatusOK))
				if r.Method != http.MethodHead {
					fmt.Fprint(w, "body")
				}
			})
			opts := []Option{WithClock(clock.Now)}
			if tc.shared {
				opts = append(opts, WithShared())
			}
			tr := NewTransport(NewCache(nil, opts...))
			wantOrigin := 0
			for i, p := range tc.probes {
				clock.Advance(p.after)
				resp, _ := fetch(t, tr, orDefault(p.method, "GET"), o.URL+"/resource", p.header)
				cs, _ := CacheStatusOf(resp)
				assert.Equal(t, p.hit, cs.Hit, "request %d (after %v): hit; Cache-Status %q", i, p.after, resp.Header["Cache-Status"])
				if p.status != 0 {
					assert.Equal(t, p.status, resp.StatusCode, "request %d: status", i)
				}
				if p.check != nil {
					p.check(t, resp)
				}
				if !p.hit && !p.noSend {
					wantOrigin++
				}
			}
			assert.EqualValues(t, wantOrigin, o.hits.Load(), "requests that reached the origin")
		})
	}
}

// orDefault returns v, or fallback if v is the zero value.
func orDefault[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// logBuffer collects what a Cache logs, one JSON record a line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// logger returns a logger that writes to l.
func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{&l.buf, &l.mu}, nil))
}

// records returns the records logged so far.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), "a log line that is not one JSON record: %q", line)
		out = append(out, r)
	}
	return out
}

// utc returns the instant of the date and clock given, in UTC.
func utc(year int, month time.Month, day, hour, minute, second int) time.Time {
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC)
}

// httpDateNow is the time against which the tests read the two-digit year
// of an RFC 850 date.
var httpDateNow = time.Date(2025, time.June, 1, 0, 0, 0, 0, time.UTC)
