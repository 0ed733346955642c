package acache

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validatingOrigin serves version v of a resource with an ETag and
// Last-Modified, answers matching conditional requests with 304, and records
// the validators it was sent.
type validatingOrigin struct {
	*testOrigin
	version      atomic.Int64
	cacheControl atomic.Value // string
	lastINM      atomic.Value // string
	notModified  atomic.Int64
}

func newValidatingOrigin(t *testing.T, clock *testClock, cacheControl string) *validatingOrigin {
	v := &validatingOrigin{}
	v.version.Store(1)
	v.cacheControl.Store(cacheControl)
	v.lastINM.Store("")
	v.testOrigin = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		etag := fmt.Sprintf(`"v%d"`, v.version.Load())
		w.Header().Set("Cache-Control", v.cacheControl.Load().(string))
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", t0.Add(-time.Hour).Format(http.TimeFormat))
		w.Header().Set("X-Served-Version", etag)
		v.lastINM.Store(r.Header.Get("If-None-Match"))
		if r.Header.Get("If-None-Match") == etag {
			v.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "body %s", etag)
	})
	return v
}

func TestRFC9111_4_3_Validation(t *testing.T) {
	t.Parallel()

	t.Run("4.3.1 a stale response is revalidated and a 304 freshens it", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "max-age=60")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		clock.Advance(2 * time.Minute)

		resp, body := fetch(t, tr, "GET", o.URL, nil)
		assert.Equal(t, `"v1"`, o.lastINM.Load(), "the cache sends the stored ETag as If-None-Match")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the caller gets the stored response as a 200")
		assert.Equal(t, `body "v1"`, body)
		assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"), "stored fields are kept")
		cs, _ := CacheStatusOf(resp)
		assert.Equal(t, CacheStatus{Cache: "acache", Fwd: policy.FwdStale, FwdStatus: 304, Stored: true, TTL: 60 * time.Second}, cs)
		assert.Equal(t, "0", resp.Header.Get("Age"), "the freshened response starts a new age")
		assert.EqualValues(t, 1, o.notModified.Load())

		clock.Advance(30 * time.Second)
		resp, _ = fetch(t, tr, "GET", o.URL, nil)
		assert.True(t, isHit(resp), "after the 304 the entry is fresh again")
		assert.EqualValues(t, 2, o.hits.Load())
	})

	t.Run("4.3.3 a changed resource replaces the entry", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "max-age=60")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		o.version.Store(2)
		clock.Advance(2 * time.Minute)
		resp, body := fetch(t, tr, "GET", o.URL, nil)
		assert.Equal(t, `body "v2"`, body)
		assert.False(t, isHit(resp))
		resp, body = fetch(t, tr, "GET", o.URL, nil)
		assert.True(t, isHit(resp))
		assert.Equal(t, `body "v2"`, body, "the new response replaced the old one")
	})

	t.Run("4.3.4 a 304 updates the stored header fields", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "max-age=60")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		clock.Advance(2 * time.Minute)
		o.cacheControl.Store("max-age=600")
		fetch(t, tr, "GET", o.URL, nil)
		clock.Advance(5 * time.Minute)
		resp, _ := fetch(t, tr, "GET", o.URL, nil)
		assert.True(t, isHit(resp), "the 304's max-age=600 replaced the stored max-age=60")
		assert.Equal(t, "max-age=600", resp.Header.Get("Cache-Control"))
	})

	t.Run("5.2.2.4 no-cache is stored and revalidated every time", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "no-cache")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		for range 3 {
			resp, body := fetch(t, tr, "GET", o.URL, nil)
			assert.Equal(t, `body "v1"`, body)
			assert.False(t, isHit(resp))
		}
		assert.EqualValues(t, 3, o.notModified.Load(), "each reuse was validated with a 304")
	})

	t.Run("5.2.1.4 request no-cache revalidates a fresh response", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "max-age=600")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		fetch(t, tr, "GET", o.URL, hdr("Cache-Control", "no-cache"))
		assert.EqualValues(t, 1, o.notModified.Load())
	})

	t.Run("4.3.1 the caller's request is not modified by revalidation", func(t *testing.T) {
		clock := newTestClock()
		o := newValidatingOrigin(t, clock, "max-age=60")
		tr := newTestTransport(clock)
		fetch(t, tr, "GET", o.URL, nil)
		clock.Advance(2 * time.Minute)
		req, _ := http.NewRequest("GET", o.URL, nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, req.Header, "no validators were added to the caller's request")
		assert.Same(t, req, resp.Request)
	})
}

func TestRFC9111_5_2_2_2_MustRevalidateUnreachableOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cacheControl string
		want504      bool
	}{
		{"max-age=60, must-revalidate", true},
		{"max-age=60", false},
	} {
		t.Run(tc.cacheControl, func(t *testing.T) {
			clock := newTestClock()
			var down atomic.Bool
			inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				if down.Load() {
					return nil, errors.New("connection refused")
				}
				return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Proto: "HTTP/1.1",
					Header: hdr("Cache-Control", tc.cacheControl, "ETag", `"x"`, "Date", clock.Now().Format(http.TimeFormat)),
					Body:   io.NopCloser(strings.NewReader("ok")), ContentLength: 2, Request: req}, nil
			})
			tr := &Transport{Transport: inner, Cache: NewCache(nil, WithClock(clock.Now))}
			fetch(t, tr, "GET", "http://origin.test/", nil)
			down.Store(true)
			clock.Advance(2 * time.Minute)
			req, _ := http.NewRequest("GET", "http://origin.test/", nil)
			resp, err := tr.RoundTrip(req)
			if !tc.want504 {
				assert.Error(t, err, "without must-revalidate the origin's error reaches the caller")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "the stale response is never served")
			cs, _ := CacheStatusOf(resp)
			assert.Contains(t, cs.Detail, "must-revalidate")
		})
	}
}

func TestRFC9111_4_3_2_CallerConditionalRequests(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newValidatingOrigin(t, clock, "max-age=60")
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)

	resp, body := fetch(t, tr, "GET", o.URL, hdr("If-None-Match", `"v0", "v1"`))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode, "a fresh stored response that matches answers 304")
	assert.Empty(t, body)
	assert.Equal(t, `"v1"`, resp.Header.Get("ETag"))
	assert.Empty(t, resp.Header.Get("Content-Type"), "a 304 carries no representation metadata")
	assert.True(t, isHit(resp))

	resp, body = fetch(t, tr, "GET", o.URL, hdr("If-None-Match", `"v9"`))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "validators that do not match get the full stored response")
	assert.Equal(t, `body "v1"`, body)
	assert.True(t, isHit(resp))

	resp, _ = fetch(t, tr, "GET", o.URL, hdr("If-Modified-Since", t0.Format(http.TimeFormat)))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode, "If-Modified-Since after Last-Modified answers 304")
	assert.EqualValues(t, 1, o.hits.Load(), "all of that came from the cache")

	// Stale: the caller's validators go to the origin, and its 304 is passed
	// on, never turned into a 200 or stored as a full response.
	clock.Advance(2 * time.Minute)
	resp, body = fetch(t, tr, "GET", o.URL, hdr("If-None-Match", `"v1"`))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, `"v1"`, o.lastINM.Load(), "the caller's own validator was sent")
	resp, body = fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `body "v1"`, body)
	assert.True(t, isHit(resp), "the caller's 304 freshened the stored response")
}

func TestRFC9111_4_1_VaryVariants(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "lang=%s", r.Header.Get("Accept-Language"))
	})
	c := NewCache(nil, WithClock(clock.Now))
	tr := NewTransport(c)
	for _, lang := range []string{"en", "fr", "de"} {
		fetch(t, tr, "GET", o.URL, hdr("Accept-Language", lang))
	}
	for _, lang := range []string{"en", "fr", "de"} {
		resp, body := fetch(t, tr, "GET", o.URL, hdr("Accept-Language", lang))
		assert.True(t, isHit(resp), "variant %s coexists with the others", lang)
		assert.Equal(t, "lang="+lang, body, "each request gets its own variant")
	}
	resp, body := fetch(t, tr, "GET", o.URL, hdr("Accept-Language", "es"))
	assert.False(t, isHit(resp))
	cs, _ := CacheStatusOf(resp)
	assert.Equal(t, policy.FwdVaryMiss, cs.Fwd)
	assert.Equal(t, "lang=es", body)
	assert.EqualValues(t, 4, o.hits.Load())

	// A new response replaces only the variant it matches.
	clock.Advance(2 * time.Minute)
	fetch(t, tr, "GET", o.URL, hdr("Accept-Language", "fr"))
	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Accept-Language", "fr"))
	assert.True(t, isHit(resp))
	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Accept-Language", "en"))
	assert.False(t, isHit(resp), "the other variants are as stale as before")

	// Invalidation removes every variant.
	fetch(t, tr, "POST", o.URL, nil)
	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Accept-Language", "fr"))
	assert.False(t, isHit(resp), "4.4 invalidation reaches every variant")
}

func TestRFC9111_4_3_5_HEAD(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var etag atomic.Value
	etag.Store(`"a"`)
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", etag.Load().(string))
		w.Header().Set("X-Seen", r.Method)
		w.Header().Set("Content-Length", "4")
		if r.Method == "GET" {
			io.WriteString(w, "full")
		}
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)

	resp, body := fetch(t, tr, "HEAD", o.URL, nil)
	assert.True(t, isHit(resp), "9.3.2 a HEAD is answered from the stored GET response")
	assert.Empty(t, body)
	assert.EqualValues(t, 4, resp.ContentLength)
	assert.EqualValues(t, 1, o.hits.Load())

	// A HEAD response with the same validator freshens the stored GET.
	clock.Advance(2 * time.Minute)
	fetch(t, tr, "HEAD", o.URL, hdr("Cache-Control", "no-cache"))
	resp, body = fetch(t, tr, "GET", o.URL, nil)
	assert.True(t, isHit(resp), "the HEAD response freshened the stored GET response")
	assert.Equal(t, "full", body, "HEAD never corrupts the stored body")

	// A HEAD response with another validator means the stored GET is out of date.
	etag.Store(`"b"`)
	fetch(t, tr, "HEAD", o.URL, hdr("Cache-Control", "no-cache"))
	resp, _ = fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "a changed validator removes the stored GET response")
}

func TestRFC9110_14_RangeFromStoredResponse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
	})
	tr := newTestTransport(clock)

	resp, body := fetch(t, tr, "GET", o.URL, hdr("Range", "bytes=2-4"))
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode, "without a stored response the origin answers")
	assert.Equal(t, "234", body)
	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Range", "bytes=2-4"))
	assert.False(t, isHit(resp), "3.3 a 206 is not stored as a complete response")

	fetch(t, tr, "GET", o.URL, nil)
	hitsBefore := o.hits.Load()
	for _, tc := range []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"bytes=2-4", "234", "bytes 2-4/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=8-", "89", "bytes 8-9/10", 206},
		{"bytes=20-30", "", "bytes */10", 416},
		{"items=1-2", "0123456789", "", 200},
	} {
		resp, body := fetch(t, tr, "GET", o.URL, hdr("Range", tc.rng))
		assert.Equal(t, tc.status, resp.StatusCode, tc.rng)
		assert.Equal(t, tc.body, body, tc.rng)
		assert.Equal(t, tc.contentRange, resp.Header.Get("Content-Range"), tc.rng)
		assert.True(t, isHit(resp), tc.rng)
	}
	assert.Equal(t, hitsBefore, o.hits.Load(), "single ranges are answered from the stored response")

	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Range", "bytes=0-1,5-6"))
	assert.False(t, isHit(resp), "several ranges go to the origin")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)

	resp, _ = fetch(t, tr, "GET", o.URL, hdr("Range", "bytes=0-1", "If-Range", `"x"`))
	assert.False(t, isHit(resp), "If-Range is for the origin to evaluate")
}

func TestRFC9111_SharedMode(t *testing.T) {
	t.Parallel()
	cases := []rfcCase{
		{name: "9213 CDN-Cache-Control overrides Cache-Control in a shared cache", shared: true,
			header: hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 30 * time.Second, hit: true}, {after: 31 * time.Second}}},
		{name: "9213 CDN-Cache-Control is ignored by a private cache",
			header: hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"), probes: []probe{{}, {}}},
		{name: "5.2.2.8 proxy-revalidate does not apply to a private cache", header: hdr("Cache-Control", "max-age=60, proxy-revalidate"),
			probes: []probe{{}, {after: 90 * time.Second, header: hdr("Cache-Control", "max-stale=60"), hit: true}}},
		{name: "5.2.2.8 proxy-revalidate applies to a shared cache", shared: true, header: hdr("Cache-Control", "max-age=60, proxy-revalidate"),
			probes: []probe{{}, {after: 90 * time.Second, header: hdr("Cache-Control", "max-stale=60")}}},
		{name: "5.2.2.10 s-maxage implies proxy-revalidate", shared: true, header: hdr("Cache-Control", "s-maxage=60"),
			probes: []probe{{}, {after: 90 * time.Second, header: hdr("Cache-Control", "max-stale=60")}}},
		{name: "5.2.2.7 qualified private removes only the named field", shared: true,
			header: hdr("Cache-Control", `max-age=60, private="X-User"`, "X-User", "alice", "X-Public", "yes"),
			probes: []probe{{}, {hit: true, check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Get("X-User"), "a field private to one user is not stored by a shared cache")
				assert.Equal(t, "yes", resp.Header.Get("X-Public"))
			}}}},
		{name: "shared cache never replays Set-Cookie", shared: true,
			header: hdr("Cache-Control", "public, max-age=60", "Set-Cookie", "session=alice"),
			probes: []probe{{check: func(t *testing.T, resp *http.Response) {
				assert.Equal(t, "session=alice", resp.Header.Get("Set-Cookie"), "the user who caused the fetch gets the cookie")
			}}, {hit: true, check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Values("Set-Cookie"), "a stored Set-Cookie would log another user in as alice")
			}}}},
		{name: "5.2.2.4 qualified no-cache withholds the named field on a hit",
			header: hdr("Cache-Control", `max-age=60, no-cache="X-Token"`, "X-Token", "t1"),
			probes: []probe{{}, {hit: true, check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Get("X-Token"))
			}}}},
		{name: "5.2.2.3 must-understand overrides no-store for an understood status",
			header: hdr("Cache-Control", "max-age=60, no-store, must-understand"), probes: []probe{{}, {hit: true}}},
		{name: "5.2.2.3 must-understand with a status the cache does not understand is not stored", status: 299,
			header: hdr("Cache-Control", "max-age=60, must-understand"), probes: []probe{{}, {}}},
		{name: "RFC 8246 immutable ignores a request max-age while fresh",
			header: hdr("Cache-Control", "max-age=600, immutable"),
			probes: []probe{{}, {after: time.Minute, header: hdr("Cache-Control", "max-age=0"), hit: true}, {header: hdr("Cache-Control", "no-cache")}}},
		{name: "3.4 a 200 with Content-Range is a complete response, stored",
			header: hdr("Cache-Control", "max-age=60", "Content-Range", "bytes 0-3/10"), probes: []probe{{}, {hit: true}}},
	}
	runRFCCases(t, cases)
}

func TestTargetedFieldOption(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Acache-Cache-Control", "max-age=60")
		io.WriteString(w, "x")
	})
	tr := newTestTransport(clock, WithTargetedField("acache-cache-control"))
	fetch(t, tr, "GET", o.URL, nil)
	resp, _ := fetch(t, tr, "GET", o.URL, nil)
	assert.True(t, isHit(resp), "the configured targeted field takes precedence over Cache-Control")
}

func TestRFC9111_4_3_4_NotModifiedSelection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		etag304    string
		wantReused bool
	}{
		{"4.3.4 a 304 with the stored strong validator freshens it", `"v1"`, true},
		{"4.3.4 a 304 without a validator answers the cache's own validators", "", true},
		{"4.3.4 a 304 with another validator is not for the stored response", `"other"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			var full atomic.Int64
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				if r.Header.Get("If-None-Match") != "" {
					if tc.etag304 != "" {
						w.Header().Set("ETag", tc.etag304)
					}
					w.WriteHeader(http.StatusNotModified)
					return
				}
				full.Add(1)
				w.Header().Set("ETag", `"v1"`)
				fmt.Fprintf(w, "full %d", full.Load())
			})
			tr := newTestTransport(clock)
			fetch(t, tr, "GET", o.URL, nil)
			clock.Advance(2 * time.Minute)
			resp, body := fetch(t, tr, "GET", o.URL, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the caller never sees the cache's own 304")
			if tc.wantReused {
				assert.Equal(t, "full 1", body)
				assert.EqualValues(t, 2, o.hits.Load())
			} else {
				assert.Equal(t, "full 2", body, "the cache asked again without validators")
				assert.EqualValues(t, 3, o.hits.Load())
			}
		})
	}
}

func TestRFC9110_14_RangeAfterRevalidation(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"same"`)
		if r.Header.Get("If-None-Match") == `"same"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "0123456789")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)
	clock.Advance(2 * time.Minute)
	resp, body := fetch(t, tr, "GET", o.URL, hdr("Range", "bytes=3-5"))
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode, "the range is served from the revalidated response")
	assert.Equal(t, "345", body)
	assert.Equal(t, "bytes 3-5/10", resp.Header.Get("Content-Range"))
	assert.EqualValues(t, 2, o.hits.Load())
}

func TestRFC9111_4_3_5_HEADWithAnotherLengthRemovesTheStoredGET(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var length atomic.Int64
	length.Store(4)
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"same"`)
		w.Header().Set("Content-Length", fmt.Sprint(length.Load()))
		if r.Method == "GET" {
			io.WriteString(w, strings.Repeat("x", int(length.Load())))
		}
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)
	length.Store(5)
	fetch(t, tr, "HEAD", o.URL, hdr("Cache-Control", "no-cache"))
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "a HEAD with another Content-Length means the stored body is out of date")
	assert.Equal(t, "xxxxx", body)
	assert.EqualValues(t, 3, o.hits.Load())
}

type idleCloser struct {
	http.RoundTripper
	closed atomic.Bool
}

func (c *idleCloser) CloseIdleConnections() { c.closed.Store(true) }

func TestTransportCloseIdleConnectionsReachesInner(t *testing.T) {
	t.Parallel()
	inner := &idleCloser{RoundTripper: http.DefaultTransport}
	client := &http.Client{Transport: &Transport{Transport: inner}}
	client.CloseIdleConnections()
	assert.True(t, inner.closed.Load(), "http.Client.CloseIdleConnections reaches the inner transport")
}

func TestRFC9111_3_2_UpdateKeepsWhatDescribesTheStoredBytes(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var revalidations atomic.Int64
	inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		h := hdr("Cache-Control", "max-age=60", "ETag", `"e"`, "Date", clock.Now().Format(http.TimeFormat))
		if req.Header.Get("If-None-Match") == `"e"` {
			revalidations.Add(1)
			// A 304 claiming a content coding and a length that are not those
			// of the stored bytes, as a proxy or a sloppy origin may send.
			h.Set("Content-Encoding", "gzip")
			h.Set("Content-Length", "0")
			h.Set("Content-Range", "bytes 0-0/1")
			h.Set("X-New", "yes")
			return &http.Response{StatusCode: 304, Header: h, Body: http.NoBody, Request: req}, nil
		}
		h.Set("Content-Length", "5")
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader("plain")),
			ContentLength: 5, ProtoMajor: 1, ProtoMinor: 1, Request: req}, nil
	})
	tr := &Transport{Transport: inner, Cache: NewCache(nil, WithClock(clock.Now))}
	fetch(t, tr, "GET", "http://origin.test/", nil)
	clock.Advance(2 * time.Minute)
	resp, body := fetch(t, tr, "GET", "http://origin.test/", nil)
	require.EqualValues(t, 1, revalidations.Load())
	assert.Equal(t, "plain", body)
	assert.Equal(t, "yes", resp.Header.Get("X-New"), "other fields of the 304 are taken")
	assert.Empty(t, resp.Header.Get("Content-Encoding"), "the stored bytes are not gzip: a decoder would fail on them")
	assert.Equal(t, "5", resp.Header.Get("Content-Length"), "Content-Length describes the stored body")
	assert.Empty(t, resp.Header.Get("Content-Range"))
	assert.EqualValues(t, 5, resp.ContentLength)
}

func TestRFC9110_6_6_1_NotModifiedWithoutDate(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("If-None-Match") == `"e"` {
			// No Date: the freshened entry dates from when the 304 arrived,
			// not from the stored response's old Date.
			return &http.Response{StatusCode: 304, Header: hdr("ETag", `"e"`), Body: http.NoBody, Request: req}, nil
		}
		return &http.Response{StatusCode: 200, Request: req, ContentLength: 2, Body: io.NopCloser(strings.NewReader("ok")),
			Header: hdr("Cache-Control", "max-age=60", "ETag", `"e"`, "Date", clock.Now().Format(http.TimeFormat))}, nil
	})
	tr := &Transport{Transport: inner, Cache: NewCache(nil, WithClock(clock.Now))}
	fetch(t, tr, "GET", "http://origin.test/", nil)
	clock.Advance(10 * time.Minute)
	fetch(t, tr, "GET", "http://origin.test/", nil)
	clock.Advance(30 * time.Second)
	resp, _ := fetch(t, tr, "GET", "http://origin.test/", nil)
	assert.True(t, isHit(resp), "a 304 without Date still freshens the entry for max-age")
	assert.Equal(t, "30", resp.Header.Get("Age"))
}

func TestRFC9110_9_3_2_HEADFallsBackToAFreshHEADResponse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.Header().Set("Cache-Control", "max-age=10")
			io.WriteString(w, "body")
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)
	clock.Advance(20 * time.Second) // the stored GET is stale now
	fetch(t, tr, "HEAD", o.URL, nil)
	resp, _ := fetch(t, tr, "HEAD", o.URL, nil)
	assert.True(t, isHit(resp), "a fresh stored HEAD response answers although the stored GET is stale")
	assert.EqualValues(t, 2, o.hits.Load())
}

func TestRFC9211_2_5_StoredOnlyWhenItCanBe(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	tr := newTestTransport(clock, WithMaxBytes(100))
	resp, _ := fetch(t, tr, "GET", origin.URL, nil)
	status, _ := CacheStatusOf(resp)
	assert.False(t, status.Stored, "Cache-Status said stored for a response larger than the whole cache: %q", resp.Header.Get("Cache-Status"))
	assert.Equal(t, "too large", status.Detail)
	assert.Zero(t, tr.Cache.Stats().Stores)
	assert.Equal(t, int64(1), tr.Cache.Stats().Refusals, "the refusal is counted")
}

func TestRFC9211_2_2_HitTTLAgreesWithAge(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", origin.URL, nil)
	clock.Advance(500 * time.Millisecond)
	resp, _ := fetch(t, tr, "GET", origin.URL, nil)
	status, _ := CacheStatusOf(resp)
	require.True(t, status.Hit)
	assert.Equal(t, "0", resp.Header.Get("Age"))
	assert.Equal(t, 60*time.Second, status.TTL, "a response at Age: 0 with max-age=60 has 60 s left, not %v", status.TTL)
}

func TestTransportHitReportsUncompressedLikeTheStoredResponse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, "hello")
		zw.Close()
	})
	inner := &http.Transport{}
	t.Cleanup(inner.CloseIdleConnections)
	tr := newTestTransport(clock)
	tr.Transport = inner
	miss, body := fetch(t, tr, "GET", origin.URL, nil)
	require.True(t, miss.Uncompressed, "net/http decompressed the body")
	require.Equal(t, "hello", body)
	hit, body := fetch(t, tr, "GET", origin.URL, nil)
	require.True(t, isHit(hit))
	assert.Equal(t, "hello", body)
	assert.True(t, hit.Uncompressed, "a hit says the body was not decompressed, where the miss that stored it said it was")
}

func TestRFC9213_AnEntryIsReadWithTheTargetedFieldsOfTheCacheReadingIt(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("My-Cache-Control", "max-age=0")
		fmt.Fprint(w, "hello")
	})
	lru := newLRU()
	plain := NewTransport(NewCache(lru, WithClock(clock.Now)))
	targeted := NewTransport(NewCache(lru, WithClock(clock.Now), WithTargetedField("My-Cache-Control")))
	fetch(t, plain, "GET", origin.URL, nil)
	resp, _ := fetch(t, plain, "GET", origin.URL, nil)
	require.True(t, isHit(resp), "fresh for a cache that obeys Cache-Control")
	resp, _ = fetch(t, targeted, "GET", origin.URL, nil)
	assert.False(t, isHit(resp), "a cache that obeys My-Cache-Control: max-age=0 served the entry fresh, with another cache's reading of it")
}

// TestRFC5861_4_StaleIfError serves a stale stored response in place of an
// origin that fails, within the stale-if-error window.
func TestRFC5861_4_StaleIfError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		cc        string // of the stored response
		reqCC     string
		after     time.Duration
		failure   int // the origin's status; 0: unreachable
		option    bool
		wantStale bool
	}{
		{name: "503 inside the window", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, failure: 503, wantStale: true},
		{name: "500 inside the window", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, failure: 500, wantStale: true},
		{name: "502 inside the window", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, failure: 502, wantStale: true},
		{name: "504 inside the window", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, failure: 504, wantStale: true},
		{name: "unreachable inside the window", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, wantStale: true},
		{name: "501 is not an error it hides", cc: "max-age=60, stale-if-error=120", after: 90 * time.Second, failure: 501},
		{name: "past the window", cc: "max-age=60, stale-if-error=120", after: 200 * time.Second, failure: 503},
		{name: "the request's window", cc: "max-age=60", reqCC: "stale-if-error=60", after: 90 * time.Second, failure: 503, wantStale: true},
		{name: "must-revalidate forbids it", cc: "max-age=60, must-revalidate, stale-if-error=120", after: 90 * time.Second, failure: 503},
		{name: "no-cache forbids it", cc: "no-cache, stale-if-error=120", after: 90 * time.Second, failure: 503},
		{name: "a request max-stale the staleness exceeds forbids it", cc: "max-age=60, stale-if-error=120", reqCC: "max-stale=10", after: 90 * time.Second, failure: 503},
		{name: "a request no-cache asks for the origin's answer", cc: "max-age=60, stale-if-error=120", reqCC: "no-cache", after: 90 * time.Second, failure: 503},
		{name: "RFC 9111 4.2.4 WithStaleOnError: however stale", cc: "max-age=60", after: 48 * time.Hour, failure: 503, option: true, wantStale: true},
		{name: "RFC 9111 4.2.4 without the option the error goes through", cc: "max-age=60", after: 48 * time.Hour, failure: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			var failing atomic.Bool
			origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					w.WriteHeader(tc.failure)
					fmt.Fprint(w, "origin error")
					return
				}
				w.Header().Set("Cache-Control", tc.cc)
				w.Header().Set("ETag", `"v1"`)
				fmt.Fprint(w, "stored body")
			})
			opts := []Option{}
			if tc.option {
				opts = append(opts, WithStaleOnError())
			}
			tr := newTestTransport(clock, opts...)
			inner := &http.Transport{}
			t.Cleanup(inner.CloseIdleConnections)
			tr.Transport = inner
			fetch(t, tr, "GET", origin.URL, nil)
			clock.Advance(tc.after)
			failing.Store(true)
			if tc.failure == 0 {
				tr.Transport = roundTripperFunc(func(*http.Request) (*http.Response, error) {
					return nil, errors.New("connection refused")
				})
			}
			req, err := http.NewRequest("GET", origin.URL, nil)
			require.NoError(t, err)
			if tc.reqCC != "" {
				req.Header.Set("Cache-Control", tc.reqCC)
			}
			resp, err := tr.RoundTrip(req)
			if !tc.wantStale {
				if err == nil {
					assert.NotEqual(t, "stored body", readBody(t, resp), "a stale response was served where the origin's answer had to be")
				}
				return
			}
			require.NoError(t, err, "the stale response, not the origin's failure")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "stored body", readBody(t, resp))
			status, ok := CacheStatusOf(resp)
			require.True(t, ok)
			assert.False(t, status.Hit, "the request went forward")
			assert.Equal(t, policy.FwdStale, status.Fwd)
			assert.Equal(t, tc.failure, status.FwdStatus)
			assert.Contains(t, status.Detail, "stale-if-error")
			assert.Negative(t, status.TTL, "the ttl shows the staleness (RFC 9211 Section 2.4)")
		})
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return string(body)
}
