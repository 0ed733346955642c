package acache

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
