package acache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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

func TestTransportZeroValueWorks(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	tr := &Transport{}
	for range 2 {
		_, body := fetch(t, tr, "GET", o.URL, nil)
		assert.Equal(t, "hello", body)
	}
	assert.EqualValues(t, 1, o.hits.Load(), "the zero Transport should cache a fresh response")
}

// countingBody is a request body that counts its Close calls.
type countingBody struct {
	io.Reader
	closes atomic.Int32
}

func (b *countingBody) Close() error {
	b.closes.Add(1)
	return nil
}

func TestTransportContract(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "ok")
	})
	tr := newTestTransport(clock)

	t.Run("request body closed once on miss and hit", func(t *testing.T) {
		for i, want := range []string{"miss", "hit"} {
			body := &countingBody{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest("GET", o.URL+"/body", body)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, i == 1, isHit(resp), want)
			assert.EqualValues(t, 1, body.closes.Load(), "request body closes on a %s", want)
		}
	})

	t.Run("caller's request is unchanged", func(t *testing.T) {
		req, _ := http.NewRequest("GET", o.URL+"/same?q=1", nil)
		req.Header.Set("Accept", "text/plain")
		req.Header.Set("Cache-Control", "max-age=100")
		before := req.Clone(context.Background())
		for range 2 {
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		assert.Equal(t, before.Header, req.Header)
		assert.Equal(t, before.URL.String(), req.URL.String())
		assert.Equal(t, before.Host, req.Host)
		assert.Equal(t, before.Method, req.Method)
	})

	t.Run("body of a hit is never nil", func(t *testing.T) {
		fetch(t, tr, "GET", o.URL+"/x", nil)
		req, _ := http.NewRequest("GET", o.URL+"/x", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.NotNil(t, resp.Body)
		resp.Body.Close()
	})
}

// failingBackend fails every call, or panics when panics is set.
type failingBackend struct{ panics bool }

var errBackendDown = errors.New("backend down")

func (b failingBackend) fail() error {
	if b.panics {
		panic("backend exploded")
	}
	return errBackendDown
}
func (b failingBackend) Contains(context.Context, string) (bool, error) { return false, b.fail() }
func (b failingBackend) Len(context.Context) (int, error)               { return 0, b.fail() }
func (b failingBackend) Get(context.Context, string) (*Entry, error)    { return nil, b.fail() }
func (b failingBackend) Set(context.Context, string, *Entry) error      { return b.fail() }
func (b failingBackend) Pop(context.Context, string) (*Entry, error)    { return nil, b.fail() }
func (b failingBackend) PopOldest(context.Context) (string, *Entry, error) {
	return "", nil, b.fail()
}
func (b failingBackend) MoveToEnd(context.Context, string) error { return b.fail() }

// slogTo returns a logger writing text records to w under mu.
func slogTo(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{w, mu}, nil))
}

func TestTransportFailingBackendFallsBackToOrigin(t *testing.T) {
	t.Parallel()
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "from origin")
			})
			var logs strings.Builder
			var logMu sync.Mutex
			c := NewCache(failingBackend{panics: panics}, WithClock(clock.Now),
				WithLogger(slogTo(&logs, &logMu)))
			tr := NewTransport(c)
			for range 2 {
				resp, body := fetch(t, tr, "GET", o.URL, nil)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "from origin", body, "a broken backend must not break the request")
			}
			assert.EqualValues(t, 2, o.hits.Load())
			assert.Positive(t, c.Stats().Errors, "failures are counted")
			logMu.Lock()
			assert.Contains(t, logs.String(), "acache: cache failure")
			logMu.Unlock()
		})
	}
}

func TestTransportConcurrentUse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, r.URL.Path)
	})
	tr := newTestTransport(clock, WithMaxEntries(4))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				path := fmt.Sprintf("/%d", (g+i)%6)
				req, _ := http.NewRequest("GET", o.URL+path, nil)
				resp, err := tr.RoundTrip(req)
				if !assert.NoError(t, err) {
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.NoError(t, err)
				assert.Equal(t, path, string(body), "a response is only ever served for its own URL")
				if i%10 == 0 {
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	n, _ := tr.Cache.backend.Len(context.Background())
	assert.LessOrEqual(t, n, 4)
}

func TestTransportPassesOnInnerErrors(t *testing.T) {
	t.Parallel()
	inner := errors.New("dial failed")
	tr := &Transport{Transport: roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, inner })}
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, inner, "the inner transport's error reaches the caller unchanged")
}

func TestTransportToleratesSloppyInnerResponses(t *testing.T) {
	t.Parallel()
	tr := &Transport{Transport: roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Request: req}, nil // no Header, no Body
	})}
	req, _ := http.NewRequest("GET", "http://example.test/", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NotNil(t, resp.Body, "the caller never gets a nil Body")
	_, ok := CacheStatusOf(resp)
	assert.True(t, ok)
}

// echoOrigin answers every request with a body that fingerprints what the
// response was selected by: the path, the Authorization field, and the request
// fields the path varies on. A cache that serves a response to a request it
// does not match hands out a body whose fingerprint differs from the request's.
func echoOrigin(clock *testClock, version *int) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		h := http.Header{}
		h.Set("Date", clock.Now().Format(http.TimeFormat))
		h.Set("ETag", fmt.Sprintf(`"%d"`, *version))
		switch req.URL.Path {
		case "/fresh":
			h.Set("Cache-Control", "max-age=60")
		case "/vary":
			h.Set("Cache-Control", "max-age=60")
			h.Set("Vary", "Accept-Language")
		case "/star":
			h.Set("Cache-Control", "max-age=60")
			h.Set("Vary", "*")
		case "/nocache":
			h.Set("Cache-Control", "no-cache")
		}
		if inm := req.Header.Get("If-None-Match"); inm == h.Get("ETag") {
			return &http.Response{StatusCode: 304, Header: h, Body: http.NoBody, Request: req}, nil
		}
		body := expectedFingerprint(req.URL.Path, req.Header, *version)
		if req.Method == http.MethodHead {
			body = ""
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req}, nil
	})
}

func expectedFingerprint(path string, h http.Header, version int) string {
	fp := fmt.Sprintf("%s|auth=%q|v%d", path, h.Values("Authorization"), version)
	if path == "/vary" {
		values, ok := h["Accept-Language"]
		fp += fmt.Sprintf("|lang=%q,%v", values, ok)
	}
	return fp
}

// checkInvariants runs the operations encoded in ops through one Transport
// and fails if any response is served to a request it does not match.
func checkInvariants(t *testing.T, ops []byte) {
	clock := newTestClock()
	version := 1
	tr := &Transport{Transport: echoOrigin(clock, &version), Cache: NewCache(nil, WithClock(clock.Now), WithMaxEntries(6))}
	paths := []string{"/fresh", "/vary", "/star", "/nocache"}
	auths := [][]string{nil, {"Bearer alice"}, {"Bearer bob"}}
	langs := [][]string{nil, {"en"}, {"fr"}, {""}, {"en", "fr"}}
	methods := []string{"GET", "GET", "GET", "HEAD", "POST"}
	for len(ops) >= 4 {
		op := ops[:4]
		ops = ops[4:]
		if op[0]%16 == 15 {
			version++ // the origin's resource changes
		}
		clock.Advance(time.Duration(op[0]%8) * 10 * time.Second)
		path := paths[int(op[1])%len(paths)]
		method := methods[int(op[1]/16)%len(methods)]
		req, _ := http.NewRequest(method, "http://origin.test"+path, nil)
		if a := auths[int(op[2])%len(auths)]; a != nil {
			req.Header["Authorization"] = a
		}
		if l := langs[int(op[3])%len(langs)]; l != nil {
			req.Header["Accept-Language"] = l
		}
		if op[2]/16%4 == 1 {
			req.Header.Set("Range", "bytes=0-3")
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: reading body: %v", method, path, err)
		}
		want := expectedFingerprint(path, req.Header, version)
		switch {
		case method == "HEAD":
			if len(body) != 0 {
				t.Fatalf("HEAD %s returned a body %q", path, body)
			}
		case resp.StatusCode == 206:
			if !strings.HasPrefix(want, string(body)) {
				t.Fatalf("%s %s Range got %q; want a prefix of %q", method, path, body, want)
			}
		case string(body) != want:
			t.Fatalf("%s %s (auth %q, lang %q) got %q; want %q; Cache-Status %q",
				method, path, req.Header.Values("Authorization"), req.Header.Values("Accept-Language"),
				body, want, resp.Header.Get("Cache-Status"))
		}
	}
}

// TestTransportNeverServesAMismatch drives random request sequences through
// the cache; every response must be the one the origin would give that very
// request (key, partition, variant and version).
func TestTransportNeverServesAMismatch(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		ops := make([]byte, 400)
		for i := range ops {
			ops[i] = byte(rng.IntN(256))
		}
		checkInvariants(t, ops)
	}
}

func FuzzTransportNeverServesAMismatch(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 0, 1, 2, 2, 0, 1, 1, 1})
	f.Add([]byte{0, 0, 0, 0, 15, 0, 0, 0, 7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		checkInvariants(t, ops)
	})
}

// FuzzResponseFields sends responses with arbitrary caching fields through the
// cache: whatever they say, no request fails or panics, every response has
// the origin's body, and every hit carries a valid Age.
func FuzzResponseFields(f *testing.F) {
	f.Add("max-age=60", "", "", "", "", "")
	f.Add("max-age=abc, no-store", "0", "", "-1", "*", `W/"x"`)
	f.Add(`no-cache="a, b", private`, "Tuesday, 24-Nov-26 12:01:30 GMT", "Tue Nov 24 12:00:00 2026", "99999999999999999999", "Accept, ,", `"`)
	f.Add("s-maxage=10, must-understand, immutable", "Tue, 24 Nov 2026 12:01:30 UTC", "garbage", "5, 6", "X-\x00", "")
	f.Fuzz(func(t *testing.T, cacheControl, expires, lastModified, age, vary, etag string) {
		clock := newTestClock()
		const body = "fuzzed body"
		inner := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			h := http.Header{"Date": {clock.Now().Format(http.TimeFormat)}}
			for name, v := range map[string]string{"Cache-Control": cacheControl, "Expires": expires,
				"Last-Modified": lastModified, "Age": age, "Vary": vary, "Etag": etag} {
				if v != "" {
					h[name] = strings.Split(v, "\n")
				}
			}
			if req.Header.Get("If-None-Match") != "" && req.Header.Get("If-None-Match") == etag {
				return &http.Response{StatusCode: 304, Header: h, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(body)),
				ContentLength: int64(len(body)), Request: req}, nil
		})
		for _, shared := range []bool{false, true} {
			opts := []Option{WithClock(clock.Now)}
			if shared {
				opts = append(opts, WithShared())
			}
			tr := &Transport{Transport: inner, Cache: NewCache(nil, opts...)}
			for _, step := range []time.Duration{0, 0, 30 * time.Second, time.Hour} {
				clock.Advance(step)
				req, _ := http.NewRequest("GET", "http://origin.test/r", nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != body {
					t.Fatalf("body = %q, %v; want %q", got, err, body)
				}
				if isHit(resp) {
					if a := resp.Header.Get("Age"); a == "" || strings.HasPrefix(a, "-") {
						t.Fatalf("a hit has Age %q", a)
					}
				}
			}
			if errs := tr.Cache.Stats().Errors; errs != 0 {
				t.Fatalf("the cache recovered from %d failures on well-behaved backends", errs)
			}
		}
	})
}

// body1KiB is the response body of the hit benchmarks.
var body1KiB = strings.Repeat("a", 1024)

// mapRoundTripper is the baseline a cache hit is measured against: a map of
// prebuilt responses, each served as a new *http.Response with a cloned header
// and its own body reader, as any correct cache must.
type mapRoundTripper struct {
	responses map[string]*http.Response
	bodies    map[string][]byte
}

func (m *mapRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.String()
	prebuilt := m.responses[key]
	resp := *prebuilt
	resp.Header = prebuilt.Header.Clone()
	resp.Body = io.NopCloser(bytes.NewReader(m.bodies[key]))
	resp.Request = req
	return &resp, nil
}

func benchOrigin(b *testing.B) *httptest.Server {
	b.Helper()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, body1KiB)
	}))
	b.Cleanup(origin.Close)
	return origin
}

func benchRoundTrips(b *testing.B, rt http.RoundTripper, req *http.Request) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

// BenchmarkHit1KiB measures a fresh 1 KiB hit through Transport.RoundTrip.
func BenchmarkHit1KiB(b *testing.B) {
	origin := benchOrigin(b)
	tr := NewTransport(nil)
	req, _ := http.NewRequest("GET", origin.URL+"/bench?x=1", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp, _ := tr.RoundTrip(req); !isHit(resp) {
		b.Fatal("warm-up did not store the response")
	}
	benchRoundTrips(b, tr, req)
}

// BenchmarkHit1KiBAuthorization is a hit whose key includes the keyed hash of
// an Authorization field.
func BenchmarkHit1KiBAuthorization(b *testing.B) {
	origin := benchOrigin(b)
	tr := NewTransport(nil)
	req, _ := http.NewRequest("GET", origin.URL+"/bench", nil)
	req.Header.Set("Authorization", "Bearer some-token")
	resp, _ := tr.RoundTrip(req)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	benchRoundTrips(b, tr, req)
}

// BenchmarkHit1KiBParallel measures hits from all cores on one entry.
func BenchmarkHit1KiBParallel(b *testing.B) {
	origin := benchOrigin(b)
	tr := NewTransport(nil)
	req, _ := http.NewRequest("GET", origin.URL+"/bench", nil)
	resp, _ := tr.RoundTrip(req)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
		}
	})
}

// BenchmarkBareMap1KiB is the baseline for BenchmarkHit1KiB.
func BenchmarkBareMap1KiB(b *testing.B) {
	origin := benchOrigin(b)
	req, _ := http.NewRequest("GET", origin.URL+"/bench?x=1", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	key := req.Method + " " + req.URL.String()
	rt := &mapRoundTripper{
		responses: map[string]*http.Response{key: resp},
		bodies:    map[string][]byte{key: body},
	}
	benchRoundTrips(b, rt, req)
}

// TestTransportZeroValueKeepsItsCacheToItself checks that a zero Transport
// caches with a Cache of its own, which it keeps apart from its exported
// Cache field: the field stays as the program set it, so reading it while
// requests run is no data race.
func TestTransportZeroValueKeepsItsCacheToItself(t *testing.T) {
	t.Parallel()
	origin := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	tr := &Transport{}
	fetch(t, tr, "GET", origin.URL, nil)
	fetch(t, tr, "GET", origin.URL, nil)
	assert.Nil(t, tr.Cache, "a zero Transport wrote its exported Cache field")
	require.NotNil(t, tr.own.Load())
	assert.Equal(t, int64(1), tr.own.Load().Stats().Hits, "the second request is a hit of the Transport's own Cache")
}
