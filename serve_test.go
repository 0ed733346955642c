package acache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransportHitIsIndependentCopy(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprint(w, "stored body")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)

	req, _ := http.NewRequest("GET", o.URL, nil)
	first, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.True(t, isHit(first))
	assert.Same(t, req, first.Request, "a hit must carry the caller's request")
	assert.Empty(t, first.Header.Get("X-From-Cache"), "the marker is package httpcache's, not the Cache's")
	assert.EqualValues(t, len("stored body"), first.ContentLength)
	// A caller that scribbles on its response must not change the next hit.
	first.Header.Set("Cache-Control", "no-store")
	first.Header["X-Multi"] = append(first.Header["X-Multi"], "c")
	first.Header["X-Multi"][0] = "changed"
	buf := make([]byte, 6)
	_, err = io.ReadFull(first.Body, buf)
	require.NoError(t, err)
	copy(buf, "XXXXXX")

	second, body := fetch(t, tr, "GET", o.URL, nil)
	assert.True(t, isHit(second))
	assert.Equal(t, "stored body", body)
	assert.Equal(t, "max-age=60", second.Header.Get("Cache-Control"))
	assert.Equal(t, []string{"a", "b"}, second.Header["X-Multi"])
	assert.EqualValues(t, 1, o.hits.Load())
}

func TestTransportHEADHitHasNoBody(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "5")
		if r.Method == "GET" {
			fmt.Fprint(w, "hello")
		}
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "HEAD", o.URL, nil)
	resp, body := fetch(t, tr, "HEAD", o.URL, nil)
	assert.True(t, isHit(resp), "a HEAD response is stored under its own key")
	assert.Empty(t, body)
	assert.Equal(t, http.NoBody, resp.Body)
	assert.EqualValues(t, 5, resp.ContentLength, "a HEAD hit announces the length the origin announced")
	// The stored HEAD response must not answer a GET.
	_, body = fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, "hello", body)
	assert.EqualValues(t, 2, o.hits.Load())
}

// explodingEntryBackend returns an entry whose derived data is unusable, so
// building the hit response panics.
type explodingEntryBackend struct{ *lru }

func (b explodingEntryBackend) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := b.lru.Get(ctx, key)
	if e == nil {
		return e, err
	}
	bad, meta := *e, *e.meta
	meta.hitHeaderValues = -10 // cloning the hit header panics
	bad.meta = &meta
	return &bad, err
}

func TestTransportPanicWhileServingAHitGoesToTheOrigin(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "origin")
	})
	c := NewCache(explodingEntryBackend{newLRU()}, WithClock(clock.Now))
	tr := NewTransport(c)
	fetch(t, tr, "GET", o.URL, nil)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, "origin", body, "a response the cache cannot build comes from the origin")
	assert.False(t, isHit(resp))
	assert.EqualValues(t, 2, o.hits.Load())
	assert.EqualValues(t, 1, c.Stats().Errors)
}

// TestRFC9110_15_NewResponse checks the responses the cache makes itself
// against what net/http writes and reads back: the status line, the
// protocol, the header and the body arrive as they were made.
func TestRFC9110_15_NewResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code       int
		status     string // given to newResponse; "" for statusLine(code)
		wantStatus string
		body       string
	}{
		{200, "", "200 OK", "hello"},
		{206, "", "206 Partial Content", "ell"},
		{404, "", "404 Not Found", ""},
		{504, "504 Gateway Timeout", "504 Gateway Timeout", ""},
		{299, "299 Custom Reason", "299 Custom Reason", "x"},
		{799, "", "799 ", ""}, // no reason phrase, but the SP before it (RFC 9112 Section 4)
	} {
		req, err := http.NewRequest("GET", "http://example.test/", nil)
		require.NoError(t, err)
		header := http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a", "b"}}
		body := io.NopCloser(strings.NewReader(tc.body))
		status := tc.status
		if status == "" {
			status = statusLine(tc.code)
		}
		resp := newResponse(req, tc.code, status, header, body, int64(len(tc.body)))

		assert.Equal(t, tc.wantStatus, resp.Status, "Status of %d", tc.code)
		assert.Equal(t, tc.code, resp.StatusCode, "StatusCode")
		assert.Equal(t, []any{"HTTP/1.1", 1, 1}, []any{resp.Proto, resp.ProtoMajor, resp.ProtoMinor}, "protocol of %d", tc.code)
		assert.Equal(t, header, resp.Header, "Header of %d", tc.code)
		assert.True(t, resp.Body == body, "Body of %d: not the body given", tc.code)
		assert.EqualValues(t, len(tc.body), resp.ContentLength, "ContentLength of %d", tc.code)
		assert.Same(t, req, resp.Request, "a response must carry the caller's request")

		var wire bytes.Buffer
		require.NoError(t, resp.Write(&wire), "net/http writing the %d response", tc.code)
		read, err := http.ReadResponse(bufio.NewReader(&wire), req)
		require.NoError(t, err, "net/http reading the %d response", tc.code)
		got, err := io.ReadAll(read.Body)
		require.NoError(t, err)
		assert.Equal(t, []any{tc.wantStatus, tc.code, "HTTP/1.1"}, []any{read.Status, read.StatusCode, read.Proto},
			"the status line net/http reads back for %d", tc.code)
		assert.Equal(t, tc.body, string(got), "the body net/http reads back for %d", tc.code)
		assert.Equal(t, header["X-Multi"], read.Header["X-Multi"], "a field net/http reads back for %d", tc.code)
	}
}

// TestRFC9111_5_2_1_7_GatewayTimeoutResponse checks the cache's own 504.
func TestRFC9111_5_2_1_7_GatewayTimeoutResponse(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest("GET", "http://example.test/", nil)
	require.NoError(t, err)
	resp := gatewayTimeoutResponse(NewCache(nil, WithName("edge 1")), req, "only-if-cached")
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.Equal(t, "504 Gateway Timeout", resp.Status)
	assert.Equal(t, http.NoBody, resp.Body, "a 504 of the cache's own has no body")
	assert.Zero(t, resp.ContentLength)
	assert.Equal(t, []string{"0"}, resp.Header["Content-Length"])
	assert.Same(t, req, resp.Request)
	s, ok := CacheStatusOf(resp)
	require.True(t, ok, "Cache-Status %q", resp.Header["Cache-Status"])
	assert.Equal(t, CacheStatus{Cache: "edge 1", Fwd: policy.FwdMiss, Detail: "only-if-cached"}, s, "Cache-Status of the 504")
}

// TestRFC9110_15_4_5_NotModifiedResponse checks the fields of a 304 built
// from a stored response: those RFC 9110 Section 15.4.5 asks for and the
// cache's own, nothing about the content.
func TestRFC9110_15_4_5_NotModifiedResponse(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest("GET", "http://example.test/", nil)
	require.NoError(t, err)
	kept := http.Header{
		"Cache-Control":    {"max-age=60"},
		"Content-Location": {"/a"},
		"Date":             {at(0)},
		"Etag":             {`"v1"`},
		"Expires":          {at(time.Minute)},
		"Vary":             {"Accept"},
		"Age":              {"5"},
		"X-From-Cache":     {"1"},
		"Cache-Status":     {"acache; hit; ttl=55"},
	}
	stored := kept.Clone()
	stored["Content-Type"] = []string{"text/plain"}
	stored["Content-Length"] = []string{"11"}
	stored["Last-Modified"] = []string{at(-time.Hour)}
	stored["X-Custom"] = []string{"x"}
	resp := notModifiedResponse(req, stored)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Equal(t, "304 Not Modified", resp.Status)
	assert.Equal(t, kept, resp.Header, "the fields of a 304")
	assert.Equal(t, http.NoBody, resp.Body, "a 304 has no body")
	assert.Zero(t, resp.ContentLength)
	assert.Same(t, req, resp.Request)
}

// TestCloneHeaderIsIndependent checks the one-allocation header clone of a
// hit: the copy equals the original, and appending to any field of the copy
// changes neither the original nor another field, nor the spare slots.
func TestCloneHeaderIsIndependent(t *testing.T) {
	t.Parallel()
	h := http.Header{"A": {"1"}, "B": {"2", "3"}, "C": {"4", "5", "6"}, "D": {}}
	want := http.Header{"A": {"1"}, "B": {"2", "3"}, "C": {"4", "5", "6"}, "D": {}}
	clone, spare := cloneHeader(h, 6, 3, nil)
	assert.Equal(t, want, clone, "the clone")
	require.Len(t, spare, 3, "spare slots")
	for i := range spare {
		spare[i] = "spare"
	}
	for name := range want {
		before := clone.Clone()
		clone[name] = append(clone[name], "appended")
		for other, values := range before {
			if other != name {
				assert.Equal(t, values, clone[other], "appending to %s changed %s", name, other)
			}
		}
		clone[name] = before[name]
	}
	for name := range want {
		if len(clone[name]) > 0 {
			clone[name][0] = "overwritten"
		}
	}
	assert.Equal(t, want, h, "writing to the clone changed the original")
	assert.Equal(t, []string{"spare", "spare", "spare"}, spare, "writing to the clone changed the spare slots")
}

// TestStoredResponseIsIndependentOfTheEntry checks that a caller who writes
// to everything a hit hands out (its header's fields and values, the buffer
// it reads the body into) changes neither the stored entry nor another hit
// served from it, and that no field of a hit shares its array with another.
func TestStoredResponseIsIndependentOfTheEntry(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Status", "upstream; fwd=uri-miss")
		w.Header()["X-Multi"] = []string{"a", "b"}
		fmt.Fprint(w, "stored body")
	})
	c := NewCache(nil, WithClock(clock.Now))
	tr := NewTransport(c)
	fetch(t, tr, "GET", o.URL, nil)
	req, err := http.NewRequest("GET", o.URL, nil)
	require.NoError(t, err)
	e, _ := c.lookup(t.Context(), nil, c.key(req), nil)
	require.NotNil(t, e, "the response was not stored")
	entryHeader, entryBody := e.Header.Clone(), bytes.Clone(e.Body)

	hit := func() *http.Response {
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.True(t, isHit(resp), "Cache-Status %q", resp.Header["Cache-Status"])
		return resp
	}
	first, second := hit(), hit()
	secondHeader := second.Header.Clone()

	// Within one hit, appending to a field writes over no other field.
	for name, values := range first.Header {
		before := first.Header.Clone()
		first.Header[name] = append(values, "appended")
		for other, values := range before {
			if other != name {
				require.Equal(t, values, first.Header[other], "appending to %s of a hit changed its %s", name, other)
			}
		}
		first.Header[name] = values // the slice as served, to write to below
	}
	for name, values := range first.Header {
		for i := range values {
			values[i] = "overwritten"
		}
		first.Header[name] = append(values, "more")
	}
	first.Header.Set("X-New", "1")
	first.Header.Del("Cache-Control")
	buf := make([]byte, 4)
	_, err = io.ReadFull(first.Body, buf)
	require.NoError(t, err)
	copy(buf, "XXXX")
	require.NoError(t, first.Body.Close())

	assert.Equal(t, entryHeader, e.Header, "writing to a hit changed the stored entry's header")
	assert.Equal(t, entryBody, e.Body, "writing to a hit changed the stored body")
	assert.Equal(t, secondHeader, second.Header, "writing to one hit changed another")
	got, err := io.ReadAll(second.Body)
	require.NoError(t, err)
	assert.Equal(t, "stored body", string(got), "the body of another hit")
	third, body := fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, "stored body", body, "the body of a later hit")
	assert.Equal(t, secondHeader, third.Header, "the header of a later hit")
}
