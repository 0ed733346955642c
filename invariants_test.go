package acache

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

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
