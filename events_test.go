package acache

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debugLogger returns a logger that writes to l at Debug and above.
func debugLogger(l *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{&l.buf, &l.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// decisionAttrs are the attributes every decision record has, the names the
// README documents as stable.
var decisionAttrs = []string{"method", "url", "key", "key_partitioned", "action", "status",
	"fwd", "fwd_status", "stored", "collapsed", "detail", "ttl_s", "age_s", "background"}

// TestDecisionEvents sends one request of each kind and checks that each
// decision is one Debug record with the documented attributes, and that
// nothing is logged above Debug.
func TestDecisionEvents(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		case "/same":
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"same"`)
			if r.Header.Get("If-None-Match") == `"same"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/swr":
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		case "/no-store":
			w.Header().Set("Cache-Control", "no-store")
		case "/private":
			w.Header().Set("Cache-Control", "max-age=60")
		}
		io.WriteString(w, "body")
	})
	var logs logBuffer
	c := NewCache(nil, WithClock(clock.Now), WithLogger(debugLogger(&logs)))
	tr := NewTransport(c)
	tr.Transport = http.DefaultTransport.(*http.Transport).Clone() // Close closes it
	t.Cleanup(func() { tr.Close() })

	type want struct {
		action, fwd, detail string
		status, fwdStatus   int
		stored              bool
		ttl, age            float64
		partitioned         bool
		background          bool
	}
	steps := []struct {
		name   string
		after  time.Duration
		method string
		path   string
		header http.Header
		want   []want // one record per decision: two with a background refresh
	}{
		{name: "miss, stored", path: "/fresh",
			want: []want{{action: "forward", fwd: policy.FwdURIMiss, status: 200, fwdStatus: 200, stored: true, ttl: 60}}},
		{name: "hit", after: 5 * time.Second, path: "/fresh",
			want: []want{{action: "hit", status: 200, ttl: 55, age: 5}}},
		{name: "refused", path: "/no-store",
			want: []want{{action: "forward", fwd: policy.FwdURIMiss, status: 200, fwdStatus: 200, detail: "no-store"}}},
		{name: "bypass", method: "POST", path: "/fresh",
			want: []want{{action: "bypass", fwd: policy.FwdMethod, status: 200, fwdStatus: 200}}},
		{name: "only-if-cached", path: "/nothing", header: hdr("Cache-Control", "only-if-cached"),
			want: []want{{action: "504", fwd: policy.FwdMiss, status: 504, detail: "only-if-cached"}}},
		{name: "partitioned", path: "/private", header: hdr("Authorization", "Bearer secret-token"),
			want: []want{{action: "forward", fwd: policy.FwdURIMiss, status: 200, fwdStatus: 200, stored: true, ttl: 60, partitioned: true}}},
		{name: "first of /same", path: "/same",
			want: []want{{action: "forward", fwd: policy.FwdURIMiss, status: 200, fwdStatus: 200, stored: true, ttl: 10}}},
		{name: "first of /swr", path: "/swr",
			want: []want{{action: "forward", fwd: policy.FwdURIMiss, status: 200, fwdStatus: 200, stored: true, ttl: 10}}},
		{name: "revalidated", after: 20 * time.Second, path: "/same",
			want: []want{{action: "revalidate", fwd: policy.FwdStale, status: 200, fwdStatus: 304, stored: true, ttl: 10}}},
		{name: "stale while revalidate", path: "/swr",
			want: []want{
				{action: "stale", status: 200, ttl: -10, age: 20, detail: "stale-while-revalidate"},
				{action: "forward", fwd: policy.FwdStale, status: 200, fwdStatus: 200, stored: true, ttl: 10, background: true},
			}},
	}
	for _, step := range steps {
		clock.Advance(step.after)
		before := len(logs.records(t))
		fetch(t, tr, orDefault(step.method, "GET"), o.URL+step.path, step.header)
		c.waitBackground()
		records := logs.records(t)[before:]
		require.Len(t, records, len(step.want), "%s: one Debug record per decision: %v", step.name, records)
		for i, w := range step.want {
			r := records[i]
			for _, name := range decisionAttrs {
				assert.Contains(t, r, name, "%s: the record lacks the attribute %q", step.name, name)
			}
			assert.Equal(t, "DEBUG", r["level"], "%s: level", step.name)
			assert.Equal(t, "acache: decision", r["msg"], "%s: message", step.name)
			assert.Equal(t, orDefault(step.method, "GET"), r["method"], "%s: method", step.name)
			assert.Equal(t, o.URL+step.path, r["url"], "%s: url", step.name)
			got := want{
				action: r["action"].(string), fwd: r["fwd"].(string), detail: r["detail"].(string),
				status: int(r["status"].(float64)), fwdStatus: int(r["fwd_status"].(float64)),
				stored: r["stored"].(bool), ttl: r["ttl_s"].(float64), age: r["age_s"].(float64),
				partitioned: r["key_partitioned"].(bool), background: r["background"].(bool),
			}
			assert.Equal(t, w, got, "%s: record %d", step.name, i)
		}
	}
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	assert.NotContains(t, all, "secret-token", "a decision record must never carry an Authorization value")
	for _, r := range logs.records(t) {
		assert.Equal(t, "DEBUG", r["level"], "only Debug records: %v", r)
	}
}

// TestDecisionEventError checks the record of a request whose origin could
// not be reached: the decision, with the error.
func TestDecisionEventError(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var logs logBuffer
	c := NewCache(nil, WithClock(clock.Now), WithLogger(debugLogger(&logs)))
	failing := roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("unreachable") })
	tr := &Transport{Transport: failing, Cache: c}
	req, err := http.NewRequest("GET", "http://origin.test/page?q=1", nil)
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	require.Error(t, err)
	records := logs.records(t)
	require.Len(t, records, 1, "one record for the decision")
	assert.Equal(t, "forward", records[0]["action"])
	assert.Equal(t, policy.FwdURIMiss, records[0]["fwd"])
	assert.Equal(t, "unreachable", records[0]["err"])
	assert.Equal(t, "http://origin.test/page?q=1", records[0]["url"], "the url keeps its query")
}

// TestDecisionEventsOffAtInfo checks that a logger at Info, the default
// level, gets no decision record.
func TestDecisionEventsOffAtInfo(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
	})
	var logs logBuffer
	tr := newTestTransport(clock, WithLogger(logs.logger()))
	for range 2 {
		fetch(t, tr, "GET", o.URL, nil)
	}
	fetch(t, tr, "POST", o.URL, nil)
	assert.Empty(t, logs.records(t), "nothing is logged at Info for decisions")
	assert.False(t, strings.Contains(logs.buf.String(), "decision"))
}
