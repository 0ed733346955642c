package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// TestWriteTimeoutCutsAStalledClient sends a request for an endless body and
// never reads the response: once the buffers between them are full, the
// proxy's next write waits on the client, and -write-timeout later the proxy
// gives up on it, and on the origin's response.
func TestWriteTimeoutCutsAStalledClient(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{}) // closed when the origin's handler stops writing
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(gone)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(o.Close)
	p := startProxy(t, "-origin", o.URL, "-write-timeout", "100ms")

	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /endless HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy still streams to a client that has read nothing for 5s; want it cut off after -write-timeout 100ms")
	}
	// What was buffered arrives, then the end: not a response that goes on.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("reading the stalled response after the cut: %d bytes, then %v; want the connection closed", n, err)
	}
}

// TestWriteTimeoutSparesAProgressingDownload streams a body that takes far
// longer than -write-timeout (and -read-timeout) to arrive, after an origin
// that takes longer than -write-timeout to answer at all: no write waits
// long, so nothing is cut, as one server-wide WriteTimeout would cut it.
// A second request on the same connection, after a pause longer than the
// timeout, checks that no deadline is left over from the first.
func TestWriteTimeoutSparesAProgressingDownload(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	chunk := strings.Repeat("y", 1<<10)
	const chunks = 6
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * timeout) // think before the first byte
		rc := http.NewResponseController(w)
		for range chunks {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
			rc.Flush()
			time.Sleep(timeout / 2)
		}
	}))
	t.Cleanup(o.Close)
	p := startProxy(t, "-origin", o.URL, "-write-timeout", timeout.String(), "-read-timeout", timeout.String())
	client := newClient(t)

	for i := range 2 {
		if i > 0 {
			time.Sleep(2 * timeout)
		}
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/drip", nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %d: %v", i+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || len(body) != chunks*len(chunk) {
			t.Fatalf("GET %d: %d of %d bytes in %v, then %v; want all of them: the download kept moving",
				i+1, len(body), chunks*len(chunk), took, err)
		}
		if took < 4*timeout {
			t.Fatalf("GET %d took %v; want the download to outlast -write-timeout %v several times", i+1, took, timeout)
		}
		if i > 0 && !reused {
			t.Errorf("GET %d: on a new connection; want the first one reused", i+1)
		}
	}
}

// TestReadTimeoutCutsASlowUpload sends a request whose body never finishes:
// -read-timeout later the proxy stops waiting for it.
func TestReadTimeoutCutsASlowUpload(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-read-timeout", "100ms")

	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /public HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, conn) // a 502, or nothing, then the end
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("5s after a request body stalled: the connection is still open; want it closed after -read-timeout 100ms")
	}
}
