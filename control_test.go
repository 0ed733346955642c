package acache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modeOrigin is an origin whose response changes version on every request it
// answers in full, with an ETag, fresh for a minute (or as maxAge says); it
// answers a matching If-None-Match with 304, and records the request header
// fields a mode may add.
type modeOrigin struct {
	*testOrigin
	mu   sync.Mutex
	seen []http.Header // the header of each request, in order
}

func newModeOrigin(t *testing.T, clock *testClock, maxAge int) *modeOrigin {
	o := &modeOrigin{}
	var version int
	o.testOrigin = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.seen = append(o.seen, r.Header.Clone())
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", maxAge))
		w.Header().Set("Vary", "Accept-Language")
		if r.Header.Get("If-None-Match") == fmt.Sprintf(`"v%d"`, version) {
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version))
			w.WriteHeader(http.StatusNotModified)
			return
		}
		version++
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version))
		fmt.Fprintf(w, "version %d", version)
	})
	return o
}

// last returns the header of the last request the origin answered.
func (o *modeOrigin) last() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[len(o.seen)-1]
}

// fetchWith sends a GET for url through rt under ctl and returns the
// response with its body read, or the error.
func fetchWith(t *testing.T, rt http.RoundTripper, url string, ctl Control, header http.Header) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(WithControl(context.Background(), ctl), http.MethodGet, url, nil)
	require.NoError(t, err)
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body), nil
}

func TestControlModes(t *testing.T) {
	t.Parallel()
	t.Run("no-store neither serves nor stores, and asks the caches on the way not to", func(t *testing.T) {
		clock := newTestClock()
		o := newModeOrigin(t, clock, 60)
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL+"/stored", nil)

		req, err := http.NewRequestWithContext(WithControl(context.Background(), Control{Mode: ModeNoStore}), "GET", o.URL+"/stored", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "version 2", string(body), "the stored response was not used")
		assert.Equal(t, "no-cache", o.last().Get("Cache-Control"))
		assert.Equal(t, "no-cache", o.last().Get("Pragma"))
		assert.Empty(t, req.Header, "the caller's request is not modified")

		_, body2, err := fetchWith(t, tr, o.URL+"/new", Control{Mode: ModeNoStore}, nil)
		require.NoError(t, err)
		resp, _ = fetch(t, tr, "GET", o.URL+"/new", nil)
		assert.False(t, isHit(resp), "a response fetched in no-store mode was stored (%s)", body2)
		resp, body3 := fetch(t, tr, "GET", o.URL+"/stored", nil)
		assert.True(t, isHit(resp))
		assert.Equal(t, "version 1", body3, "no-store mode did not replace what was stored")
	})
	t.Run("reload fetches in full and stores the response", func(t *testing.T) {
		clock := newTestClock()
		o := newModeOrigin(t, clock, 60)
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL+"/", nil)
		resp, body, err := fetchWith(t, tr, o.URL+"/", Control{Mode: ModeReload}, nil)
		require.NoError(t, err)
		assert.Equal(t, "version 2", body)
		assert.False(t, isHit(resp))
		assert.Empty(t, o.last().Get("If-None-Match"), "a reload is not a conditional request")
		assert.Equal(t, "no-cache", o.last().Get("Cache-Control"))
		assert.Equal(t, "no-cache", o.last().Get("Pragma"))
		resp, body = fetch(t, tr, "GET", o.URL+"/", nil)
		assert.True(t, isHit(resp))
		assert.Equal(t, "version 2", body, "the reloaded response replaced the stored one")
	})
	t.Run("no-cache revalidates a fresh response", func(t *testing.T) {
		clock := newTestClock()
		o := newModeOrigin(t, clock, 60)
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL+"/", nil)
		resp, body, err := fetchWith(t, tr, o.URL+"/", Control{Mode: ModeNoCache}, nil)
		require.NoError(t, err)
		assert.Equal(t, `"v1"`, o.last().Get("If-None-Match"), "the stored response was validated")
		assert.Equal(t, "max-age=0", o.last().Get("Cache-Control"))
		assert.Equal(t, "version 1", body, "the 304 made the stored response the answer")
		assert.Equal(t, int64(2), o.hits.Load())
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		_, body, err = fetchWith(t, tr, o.URL+"/nothing-stored", Control{Mode: ModeNoCache}, nil)
		require.NoError(t, err)
		assert.Equal(t, "version 2", body)
		assert.Empty(t, o.last().Get("If-None-Match"))
	})
	t.Run("force-cache serves a stale response without validation", func(t *testing.T) {
		clock := newTestClock()
		o := newModeOrigin(t, clock, 60)
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL+"/", nil)
		clock.Advance(time.Hour)
		resp, body, err := fetchWith(t, tr, o.URL+"/", Control{Mode: ModeForceCache}, nil)
		require.NoError(t, err)
		assert.True(t, isHit(resp))
		assert.Equal(t, "version 1", body)
		assert.Equal(t, "3600", resp.Header.Get("Age"))
		assert.Equal(t, int64(1), o.hits.Load())

		_, body, err = fetchWith(t, tr, o.URL+"/", Control{Mode: ModeForceCache}, hdr("Accept-Language", "fr"))
		require.NoError(t, err)
		assert.Equal(t, "version 2", body, "a response stored for another Vary selection does not match")
		_, body, err = fetchWith(t, tr, o.URL+"/other", Control{Mode: ModeForceCache}, nil)
		require.NoError(t, err)
		assert.Equal(t, "version 3", body, "nothing stored: the origin answers")
		resp, _ = fetch(t, tr, "GET", o.URL+"/other", nil)
		assert.True(t, isHit(resp), "and its response is stored")
	})
	t.Run("only-if-cached serves a stale response, and never asks the origin", func(t *testing.T) {
		clock := newTestClock()
		o := newModeOrigin(t, clock, 60)
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL+"/", nil)
		clock.Advance(time.Hour)
		resp, body, err := fetchWith(t, tr, o.URL+"/", Control{Mode: ModeOnlyIfCached}, nil)
		require.NoError(t, err)
		assert.True(t, isHit(resp))
		assert.Equal(t, "version 1", body)

		_, _, err = fetchWith(t, tr, o.URL+"/other", Control{Mode: ModeOnlyIfCached}, nil)
		assert.ErrorIs(t, err, ErrNotCached)
		_, err = (&http.Client{Transport: tr}).Do(mustRequest(t, WithControl(context.Background(), Control{Mode: ModeOnlyIfCached}), "POST", o.URL+"/"))
		assert.True(t, errors.Is(err, ErrNotCached), "a POST cannot be answered from the cache: %v", err)
		assert.Equal(t, int64(1), o.hits.Load(), "the origin was asked only once, before")
	})
}

func mustRequest(t *testing.T, ctx context.Context, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	return req
}

func TestControlFreshFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		maxAge   int
		age      time.Duration
		freshFor time.Duration
		hit      bool
	}{
		{"longer than the origin's: a stale response is fresh", 10, 30 * time.Second, time.Minute, true},
		{"longer, but the age is past it", 10, 90 * time.Second, time.Minute, false},
		{"shorter than the origin's: a fresh response is stale", 600, 30 * time.Second, 10 * time.Second, false},
		{"shorter, and the age within it", 600, 5 * time.Second, 10 * time.Second, true},
		{"zero: the origin's freshness", 600, 30 * time.Second, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			o := newModeOrigin(t, clock, tc.maxAge)
			tr := newTestTransport(clock)
			fetch(t, tr, "GET", o.URL+"/", nil)
			clock.Advance(tc.age)
			resp, _, err := fetchWith(t, tr, o.URL+"/", Control{FreshFor: tc.freshFor}, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.hit, isHit(resp))
			if !tc.hit {
				assert.Equal(t, `"v1"`, o.last().Get("If-None-Match"), "a stale response is revalidated")
			}
		})
	}
}

func TestControlModeString(t *testing.T) {
	t.Parallel()
	names := map[Mode]string{
		ModeDefault: "default", ModeNoStore: "no-store", ModeReload: "reload", ModeNoCache: "no-cache",
		ModeForceCache: "force-cache", ModeOnlyIfCached: "only-if-cached", Mode(9): "Mode(9)",
	}
	for m, want := range names {
		assert.Equal(t, want, m.String())
	}
	ctl, ok := controlOf(WithControl(context.Background(), Control{Mode: ModeReload, FreshFor: time.Second}))
	assert.True(t, ok)
	assert.Equal(t, Control{Mode: ModeReload, FreshFor: time.Second}, ctl)
	_, ok = controlOf(context.Background())
	assert.False(t, ok)
}

// TestModesAreThePolicysModes checks that the Mode a request's Control
// carries is, value for value, the mode internal/policy decides with.
func TestModesAreThePolicysModes(t *testing.T) {
	t.Parallel()
	for mode, want := range map[Mode]policy.Mode{
		ModeDefault: policy.ModeDefault, ModeNoStore: policy.ModeNoStore, ModeReload: policy.ModeReload,
		ModeNoCache: policy.ModeNoCache, ModeForceCache: policy.ModeForceCache, ModeOnlyIfCached: policy.ModeOnlyIfCached,
	} {
		assert.Equal(t, want, policy.Mode(mode), "Mode %d", mode)
	}
}
