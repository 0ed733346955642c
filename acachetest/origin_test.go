package acachetest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newClient returns a fresh net/http Transport whose idle connections are
// closed when the test ends.
func newClient(t *testing.T) *http.Transport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// get sends a GET for url through tr and returns the response with its body
// read, and the error of the round trip or of the read.
func get(t *testing.T, tr *http.Transport, url string) (*http.Response, []byte, error) {
	t.Helper()
	return do(t, tr, http.MethodGet, url, nil)
}

// do sends a request through tr like get. The exchange fails after a
// generous timeout, so that a reply that never ends fails the test rather
// than hanging it.
func do(t *testing.T, tr *http.Transport, method, url string, body io.Reader) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// reply returns a script that answers every request with r.
func reply(r acachetest.Reply) func(*http.Request) acachetest.Reply {
	return func(*http.Request) acachetest.Reply { return r }
}

// wait fails the test unless ch yields within a generous timeout.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10s", what)
		panic("unreachable")
	}
}

func TestOriginFraming(t *testing.T) {
	t.Parallel()
	body := []byte("hello, framed world")
	for _, tc := range []struct {
		name        string
		framing     acachetest.Framing
		wantLength  int64
		wantChunked bool
		wantClose   bool
	}{
		{"ContentLength", acachetest.ContentLength, int64(len(body)), false, false},
		{"Chunked", acachetest.Chunked, -1, true, false},
		{"CloseDelimited", acachetest.CloseDelimited, -1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := acachetest.NewOrigin(t, reply(acachetest.Reply{Body: body, Framing: tc.framing}))
			resp, got, err := get(t, newClient(t), o.URL)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "a zero Status must send 200")
			assert.Equal(t, string(body), string(got), "the body must arrive intact")
			assert.Equal(t, tc.wantLength, resp.ContentLength, "ContentLength")
			assert.Equal(t, tc.wantChunked, len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked", "TransferEncoding = %q", resp.TransferEncoding)
			assert.Equal(t, tc.wantClose, resp.Close, "Close")
		})
	}
}

func TestOriginWritesHeaderAsSpelled(t *testing.T) {
	t.Parallel()
	o := acachetest.NewOrigin(t, reply(acachetest.Reply{
		Status: http.StatusNotFound,
		Header: http.Header{
			"a-lower": {"x"},
			"X-Multi": {"1", "2"},
			"ETag":    {`"v1"`},
		},
		Body: []byte("hello"),
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(o.URL, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	want := "HTTP/1.1 404 Not Found\r\n" +
		"ETag: \"v1\"\r\n" +
		"X-Multi: 1\r\n" +
		"X-Multi: 2\r\n" +
		"a-lower: x\r\n" +
		"Content-Length: 5\r\n" +
		"Connection: close\r\n" +
		"\r\n" +
		"hello"
	assert.Equal(t, want, string(got), "the reply must have the header names as spelled, sorted, then the framing fields")
}

func TestOriginTruncated(t *testing.T) {
	t.Parallel()
	body := []byte("0123456789")
	for _, tc := range []struct {
		name    string
		framing acachetest.Framing
		wantErr error
	}{
		{"ContentLength", acachetest.ContentLength, io.ErrUnexpectedEOF},
		{"Chunked", acachetest.Chunked, io.ErrUnexpectedEOF},
		// A close-delimited body cannot be told from a complete one.
		{"CloseDelimited", acachetest.CloseDelimited, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := acachetest.NewOrigin(t, reply(acachetest.Reply{
				Body: body, Framing: tc.framing, Truncate: true, TruncateAt: 4,
			}))
			resp, got, err := get(t, newClient(t), o.URL)
			require.NotNil(t, resp, "the header must arrive before the cut: %v", err)
			if tc.wantErr == nil {
				assert.NoError(t, err, "a truncated close-delimited body must read as a clean EOF")
			} else {
				assert.ErrorIs(t, err, tc.wantErr, "reading a truncated body")
			}
			assert.Equal(t, "0123", string(got), "the bytes before the cut must arrive")
		})
	}
}

func TestOriginCutReset(t *testing.T) {
	t.Parallel()
	// Close-delimited, so that only the reset can make the read fail.
	o := acachetest.NewOrigin(t, reply(acachetest.Reply{
		Body: []byte("0123456789"), Framing: acachetest.CloseDelimited,
		Truncate: true, TruncateAt: 4, Cut: acachetest.CutReset,
	}))
	// The reset may arrive before the client has read the header, so either
	// the round trip or the read fails.
	_, _, err := get(t, newClient(t), o.URL)
	assert.Error(t, err, "a reset connection must fail the exchange")
}

func TestOriginCutStall(t *testing.T) {
	t.Parallel()
	o := acachetest.NewOrigin(t, reply(acachetest.Reply{
		Body: []byte("0123456789"), Truncate: true, TruncateAt: 4, Cut: acachetest.CutStall,
	}))
	tr := newClient(t)
	ctx, expire := clientDeadline(t)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err, "the header must arrive before the stall")
	defer resp.Body.Close()
	got := make([]byte, 4)
	_, err = io.ReadFull(resp.Body, got)
	require.NoError(t, err, "the bytes before the stall must arrive")
	assert.Equal(t, "0123", string(got), "the bytes before the stall")
	rest, err := readPastDeadline(t, resp.Body, expire)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a stalled read must end at the client's deadline")
	assert.Empty(t, rest, "no byte after the stall must arrive")
}

// clientDeadline returns a client's context, and the function that makes
// its deadline pass: the test makes it pass after the exchange reached the
// point under test, where a timer could pass first on a loaded machine. The
// exchange then fails as at a deadline, with [context.DeadlineExceeded].
func clientDeadline(t *testing.T) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(t.Context())
	t.Cleanup(func() { cancel(nil) })
	return ctx, func() { cancel(context.DeadlineExceeded) }
}

// readPastDeadline reads body to its end in a goroutine, fails the test if
// that read returns before the client's deadline (checked for a moment:
// on a loaded machine the check may miss a read that returns, never fail
// one that waits), makes the deadline pass with expire, and returns what
// the read got.
func readPastDeadline(t *testing.T, body io.Reader, expire func()) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(body)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("the read returned %q, %v before the client's deadline", r.b, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	expire()
	r := wait(t, done, "the read after the client's deadline")
	return r.b, r.err
}

func TestOriginRawHead(t *testing.T) {
	t.Parallel()
	t.Run("Malformed", func(t *testing.T) {
		t.Parallel()
		o := acachetest.NewOrigin(t, reply(acachetest.Reply{
			RawHead: "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", Body: []byte("hello"),
		}))
		_, _, err := get(t, newClient(t), o.URL)
		assert.Error(t, err, "a malformed header must fail the round trip")
	})
	t.Run("BodyAsIs", func(t *testing.T) {
		t.Parallel()
		o := acachetest.NewOrigin(t, reply(acachetest.Reply{
			RawHead: "HTTP/1.1 203 Odd\r\ncontent-length: 3\r\n\r\n", Body: []byte("abc"),
		}))
		resp, got, err := get(t, newClient(t), o.URL)
		require.NoError(t, err)
		assert.Equal(t, 203, resp.StatusCode)
		assert.Equal(t, "abc", string(got), "Body must follow RawHead as it is")
	})
}

func TestOriginCountsRequests(t *testing.T) {
	t.Parallel()
	o := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return acachetest.Reply{Status: http.StatusInternalServerError}
		}
		return acachetest.Reply{Body: append([]byte(req.URL.Path+" "), b...)}
	})
	tr := newClient(t)
	for _, path := range []string{"/a", "/b", "/a"} {
		_, got, err := get(t, tr, o.URL+path)
		require.NoError(t, err)
		assert.Equal(t, path+" ", string(got))
	}
	_, got, err := do(t, tr, http.MethodPost, o.URL+"/post", strings.NewReader("content"))
	require.NoError(t, err)
	assert.Equal(t, "/post content", string(got), "the script must see the request's content")

	assert.Equal(t, int64(4), o.Requests(), "Requests()")
	for path, want := range map[string]int64{"/a": 2, "/b": 1, "/post": 1, "/c": 0} {
		assert.Equal(t, want, o.RequestsTo(path), "RequestsTo(%q)", path)
	}
}

func TestOriginKeepAlive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		reply        acachetest.Reply
		closeRequest bool
		wantReused   bool
	}{
		{"ContentLength", acachetest.Reply{Body: []byte("hello")}, false, true},
		{"Chunked", acachetest.Reply{Body: []byte("hello"), Framing: acachetest.Chunked}, false, true},
		{"CloseDelimited", acachetest.Reply{Body: []byte("hello"), Framing: acachetest.CloseDelimited}, false, false},
		{"ConnectionClose", acachetest.Reply{Body: []byte("hello")}, true, false},
		{"Truncated", acachetest.Reply{Body: []byte("hello"), Truncate: true, TruncateAt: 2}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := acachetest.NewOrigin(t, reply(tc.reply))
			tr := newClient(t)
			var reused []bool
			for range 2 {
				trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
					reused = append(reused, info.Reused)
				}}
				ctx := httptrace.WithClientTrace(t.Context(), trace)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
				require.NoError(t, err)
				req.Close = tc.closeRequest
				resp, err := tr.RoundTrip(req)
				require.NoError(t, err)
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			require.Len(t, reused, 2)
			assert.Equal(t, tc.wantReused, reused[1], "whether the second request reused the first one's connection")
		})
	}
}

func TestOriginRepliesWithoutBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		method     string
		status     int
		wantLength int64
	}{
		{"HEAD", http.MethodHead, 0, 5},
		{"NotModified", http.MethodGet, http.StatusNotModified, 0},
		{"NoContent", http.MethodGet, http.StatusNoContent, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
				if req.URL.Path == "/next" {
					return acachetest.Reply{Body: []byte("next")}
				}
				return acachetest.Reply{Status: tc.status, Body: []byte("hello")}
			})
			tr := newClient(t)
			resp, got, err := do(t, tr, tc.method, o.URL, nil)
			require.NoError(t, err)
			assert.Empty(t, got, "the reply must have no body")
			assert.Equal(t, tc.wantLength, resp.ContentLength, "ContentLength")

			// Had the body been sent, it would be read as the next reply.
			_, got, err = get(t, tr, o.URL+"/next")
			require.NoError(t, err)
			assert.Equal(t, "next", string(got), "the next reply on the connection")
		})
	}
}

func TestOriginCloseEndsWaits(t *testing.T) {
	t.Parallel()
	t.Run("Stall", func(t *testing.T) {
		t.Parallel()
		o := acachetest.NewOrigin(t, reply(acachetest.Reply{
			Body: []byte("0123456789"), Truncate: true, TruncateAt: 4, Cut: acachetest.CutStall,
		}))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, o.URL, nil)
		require.NoError(t, err)
		resp, err := newClient(t).RoundTrip(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		read := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, resp.Body)
			read <- err
		}()
		o.Close()
		err = wait(t, read, "reading a stalled body after Close")
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "reading a body cut short by Close")
		o.Close() // a second Close is harmless
	})
	t.Run("Delay", func(t *testing.T) {
		t.Parallel()
		o := acachetest.NewOrigin(t, reply(acachetest.Reply{Delay: time.Hour}))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, o.URL, nil)
		require.NoError(t, err)
		tr := newClient(t)
		done := make(chan error, 1)
		go func() {
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		require.Eventually(t, func() bool { return o.Requests() == 1 }, 10*time.Second, time.Millisecond)
		o.Close()
		assert.Error(t, wait(t, done, "a delayed request after Close"), "a request the Origin closed on must fail")
	})
}

// TestOriginBodyDelay checks that BodyDelay lets the header arrive first.
func TestOriginBodyDelay(t *testing.T) {
	t.Parallel()
	o := acachetest.NewOrigin(t, reply(acachetest.Reply{Body: []byte("late"), BodyDelay: time.Hour}))
	ctx, expire := clientDeadline(t)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	require.NoError(t, err)
	resp, err := newClient(t).RoundTrip(req)
	require.NoError(t, err, "the header must arrive before BodyDelay")
	defer resp.Body.Close()
	got, err := readPastDeadline(t, resp.Body, expire)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "reading a body that comes after the client's deadline")
	assert.Empty(t, got, "no body must arrive before BodyDelay")
}
