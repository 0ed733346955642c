//go:build !race

// The race detector changes what allocates (sync.Pool drops its items at
// random under it), so this test runs without -race: .ci/run runs it so.

package acache

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransportHitAllocations holds a hit to the allocations any correct
// cache makes (the response, its header, its body reader; the floor of
// BenchmarkBareMap1KiB is 8): a hit that allocates more has started copying
// or escaping something on the hot path.
func TestTransportHitAllocations(t *testing.T) {
	origin := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, body1KiB)
	})
	for _, auth := range []string{"", "Bearer some-token"} {
		tr := NewTransport(nil)
		req, _ := http.NewRequest("GET", origin.URL+"/bench?x=1", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		allocs := testing.AllocsPerRun(100, func() {
			resp, _ := tr.RoundTrip(req)
			resp.Body.Close()
		})
		// The response, its header and values, its body reader; the key of
		// a hit is the one the LRU holds, partition included.
		want := 5.0
		assert.LessOrEqual(t, allocs, want, "a hit (Authorization %q) allocates %v times", auth, allocs)
	}

	// A response that varies on credentials is matched by a keyed hash of
	// the request's, computed without allocating.
	varied := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Vary", "Authorization, Cookie")
		io.WriteString(w, body1KiB)
	})
	tr := NewTransport(NewCache(nil, WithShared()))
	req, _ := http.NewRequest("GET", varied.URL+"/varied", nil)
	req.Header.Set("Authorization", "Bearer some-token")
	req.Header.Set("Cookie", "session=abc; theme=dark")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.True(t, isHit(resp), "the credentials select the stored variant: %q", resp.Header.Get("Cache-Status"))
	allocs := testing.AllocsPerRun(100, func() {
		resp, _ := tr.RoundTrip(req)
		resp.Body.Close()
	})
	assert.LessOrEqual(t, allocs, 5.0, "a hit that varies on credentials allocates %v times", allocs)
}
