package acache

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransportStreaming(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	big := strings.Repeat("x", 4096)
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		switch r.URL.Path {
		case "/big":
			fmt.Fprint(w, big)
		case "/chunked":
			fmt.Fprint(w, "small ")
			w.(http.Flusher).Flush() // no Content-Length: chunked
			fmt.Fprint(w, "body")
		case "/truncated":
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, strings.Repeat("y", 50))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "/unframed":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nclose-delimited")
			buf.Flush()
			conn.Close()
		default:
			fmt.Fprint(w, "small body")
		}
	})

	t.Run("larger than the limit streams through uncached", func(t *testing.T) {
		tr := newTestTransport(clock, WithMaxBodySize(1024))
		for range 2 {
			resp, body := fetch(t, tr, "GET", o.URL+"/big", nil)
			assert.Equal(t, big, body, "the caller gets the whole body")
			assert.False(t, isHit(resp))
		}
	})

	t.Run("truncated body is not stored", func(t *testing.T) {
		tr := newTestTransport(clock)
		before := o.hits.Load()
		for range 2 {
			req, _ := http.NewRequest("GET", o.URL+"/truncated", nil)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			resp.Body.Close()
		}
		assert.EqualValues(t, 2, o.hits.Load()-before, "a cut-short body must never be served")
	})

	t.Run("body teed to the store closed early is not stored", func(t *testing.T) {
		// A no-cache request leads no flight: its body is teed to the
		// store as the caller reads it, not filled by the cache.
		tr := newTestTransport(clock)
		req, _ := http.NewRequest("GET", o.URL+"/early", nil)
		req.Header.Set("Cache-Control", "no-cache")
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		buf := make([]byte, 3)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		resp.Body.Close()
		resp, body := fetch(t, tr, "GET", o.URL+"/early", nil)
		assert.False(t, isHit(resp))
		assert.Equal(t, "small body", body)
		resp, _ = fetch(t, tr, "GET", o.URL+"/early", nil)
		assert.True(t, isHit(resp), "a body read to the end is stored")
	})

	t.Run("body of unknown length closed early is read to its end by the cache and stored", func(t *testing.T) {
		tr := newTestTransport(clock)
		req, _ := http.NewRequest("GET", o.URL+"/chunked", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.EqualValues(t, -1, resp.ContentLength, "the origin did not send it chunked")
		buf := make([]byte, 3)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		resp.Body.Close()
		waitInFlight(t, tr.Cache)
		resp, body := fetch(t, tr, "GET", o.URL+"/chunked", nil)
		assert.True(t, isHit(resp), "the fill went on without its reader")
		assert.Equal(t, "small body", body)
	})

	t.Run("body of known length closed early is read to its end by the cache and stored", func(t *testing.T) {
		tr := newTestTransport(clock)
		req, _ := http.NewRequest("GET", o.URL+"/early", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		buf := make([]byte, 3)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		resp.Body.Close()
		waitInFlight(t, tr.Cache) // the fill ended
		resp, body := fetch(t, tr, "GET", o.URL+"/early", nil)
		assert.True(t, isHit(resp), "the fill went on without its reader")
		assert.Equal(t, "small body", body)
	})

	t.Run("unframed HTTP/1 body is stored only on opt-in", func(t *testing.T) {
		for _, optIn := range []bool{false, true} {
			var opts []Option
			if optIn {
				opts = append(opts, WithUnframedBodies())
			}
			tr := newTestTransport(clock, opts...)
			fetch(t, tr, "GET", o.URL+"/unframed", nil)
			resp, body := fetch(t, tr, "GET", o.URL+"/unframed", nil)
			assert.Equal(t, "close-delimited", body)
			assert.Equal(t, optIn, isHit(resp), "opt-in=%v", optIn)
		}
	})
}

// waitInFlight waits until c has no flight in the air and holds no bytes
// of a body in flight: every fill has ended and its store with it.
func waitInFlight(t *testing.T, c *Cache) {
	t.Helper()
	require.Eventually(t, func() bool {
		return c.flights.inFlight() == 0 && c.Stats().InFlightBytes == 0
	}, 10*time.Second, time.Millisecond, "a fill or a flight did not end")
}
