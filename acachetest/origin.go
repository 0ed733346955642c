package acachetest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Framing says how a [Reply] delimits its body, per [RFC 9112 Section 6].
//
// [RFC 9112 Section 6]: https://www.rfc-editor.org/rfc/rfc9112#section-6
type Framing int

const (
	// ContentLength sends a Content-Length field with len(Body).
	ContentLength Framing = iota
	// Chunked sends Transfer-Encoding: chunked and the body as one chunk.
	Chunked
	// CloseDelimited sends neither: the body ends when the connection
	// closes. A "Connection: close" field is sent.
	CloseDelimited
)

// Cut says how an [Origin] ends a reply it truncates.
type Cut int

const (
	// CutClose closes the connection (FIN).
	CutClose Cut = iota
	// CutReset resets the connection (RST).
	CutReset
	// CutStall stops sending and holds the connection open until the client
	// closes it or the Origin is closed.
	CutStall
)

// Reply is what an [Origin] sends for one request.
//
// A reply to HEAD, or with a status that has no content (1xx, 204, 304),
// carries no body and Truncate has no effect on it. A reply to HEAD keeps its
// framing fields, so it announces the Content-Length the body would have.
type Reply struct {
	// Status is the status code. Zero means 200.
	Status int
	// Header holds the header fields, written in sorted order with their
	// names spelled exactly as here, so that a test can send odd spellings.
	// The Origin adds the framing fields itself (Content-Length,
	// Transfer-Encoding, Connection: close), so Header should not hold them;
	// use RawHead to send conflicting ones.
	Header http.Header
	// Body is the content.
	Body []byte
	// Framing says how the body is delimited.
	Framing Framing
	// Truncate cuts the reply after TruncateAt bytes of Body have been sent,
	// then ends it as Cut says. For Chunked the cut falls inside the chunk
	// stream: the terminating 0-chunk is never sent.
	Truncate bool
	// TruncateAt is how many bytes of Body Truncate lets through; len(Body)
	// or more sends all of it before the cut.
	TruncateAt int
	// Cut is how Truncate ends the reply; zero means CutClose.
	Cut Cut
	// Delay is how long to wait before writing anything. The wait ends early
	// if the Origin is closed.
	Delay time.Duration
	// BodyDelay is how long to wait between the header and the body.
	BodyDelay time.Duration
	// RawHead, if not empty, is written verbatim in place of the status line
	// and header, for a malformed response. Body follows as it is, with no
	// framing, and the connection is then closed; Framing, Truncate and Cut
	// are ignored.
	RawHead string
}

// Origin is a scripted HTTP/1.1 server on a loopback listener. Unlike an
// [net/http/httptest.Server] it writes its replies byte by byte, so it can
// send broken ones: truncated bodies, reset or stalled connections and
// malformed headers.
//
// An Origin keeps a connection alive between requests unless the reply is
// CloseDelimited, truncated or RawHead, or the request asks for
// "Connection: close". All its methods are safe for concurrent use.
type Origin struct {
	// URL is the base URL of the Origin, "http://127.0.0.1:PORT".
	URL string

	script func(*http.Request) Reply
	ln     net.Listener
	done   chan struct{} // closed by Close
	once   sync.Once
	wg     sync.WaitGroup // the accept loop and one goroutine per connection

	// mu guards the fields below.
	mu       sync.Mutex
	closed   bool
	conns    map[net.Conn]struct{}
	requests int64
	paths    map[string]int64
}

// NewOrigin starts an Origin that answers each request with script(req).
// req.Body holds the request's content, already read from the connection.
// script may be called from several goroutines at once, and must not call
// Close. The Origin is closed by t.Cleanup.
func NewOrigin(t testing.TB, script func(req *http.Request) Reply) *Origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("acachetest: origin cannot listen: %v", err)
	}
	o := &Origin{
		URL:    "http://" + ln.Addr().String(),
		script: script,
		ln:     ln,
		done:   make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
		paths:  make(map[string]int64),
	}
	o.wg.Go(o.accept)
	t.Cleanup(o.Close)
	return o
}

// Requests returns how many requests the Origin has read.
func (o *Origin) Requests() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

// RequestsTo returns how many requests for the URL path path the Origin has
// read.
func (o *Origin) RequestsTo(path string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paths[path]
}

// Close stops the listener, closes every connection, which ends stalls and
// delays, and waits for the Origin's goroutines to end. It is safe to call
// more than once.
func (o *Origin) Close() {
	o.once.Do(func() {
		o.mu.Lock()
		o.closed = true
		for c := range o.conns {
			c.Close()
		}
		o.mu.Unlock()
		o.ln.Close()
		close(o.done)
	})
	o.wg.Wait()
}

// accept serves each connection in its own goroutine until the listener is
// closed.
func (o *Origin) accept() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		closed := o.closed
		if !closed {
			o.conns[c] = struct{}{}
		}
		o.mu.Unlock()
		if closed {
			c.Close()
			return
		}
		o.wg.Go(func() {
			o.serve(c)
			o.mu.Lock()
			delete(o.conns, c)
			o.mu.Unlock()
			c.Close()
		})
	}
}

// serve answers the requests on c until a reply or an error ends the
// connection.
func (o *Origin) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		o.mu.Lock()
		o.requests++
		o.paths[req.URL.Path]++
		o.mu.Unlock()

		r := o.script(req)
		if !o.reply(c, br, req, r) {
			return
		}
	}
}

// reply writes r to c in answer to req and reports whether the connection can
// carry another request.
func (o *Origin) reply(c net.Conn, br *bufio.Reader, req *http.Request, r Reply) bool {
	if !o.sleep(r.Delay) {
		return false
	}
	bw := bufio.NewWriter(c)
	if r.RawHead != "" {
		bw.WriteString(r.RawHead)
		if bw.Flush() != nil || !o.sleep(r.BodyDelay) {
			return false
		}
		bw.Write(r.Body)
		bw.Flush()
		return false
	}

	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	hasBody := req.Method != http.MethodHead && bodyAllowed(status)
	truncate := r.Truncate && hasBody
	keepAlive := r.Framing != CloseDelimited && !truncate && !req.Close

	text := http.StatusText(status)
	if text == "" {
		text = "status code " + strconv.Itoa(status)
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, text)
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[name] {
			fmt.Fprintf(bw, "%s: %s\r\n", name, v)
		}
	}
	if bodyAllowed(status) {
		switch r.Framing {
		case ContentLength:
			fmt.Fprintf(bw, "Content-Length: %d\r\n", len(r.Body))
		case Chunked:
			bw.WriteString("Transfer-Encoding: chunked\r\n")
		}
	}
	if r.Framing == CloseDelimited || req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if bw.Flush() != nil {
		return false
	}
	if !hasBody {
		return keepAlive
	}

	if !o.sleep(r.BodyDelay) {
		return false
	}
	body := r.Body
	if truncate {
		body = body[:min(max(r.TruncateAt, 0), len(body))]
	}
	if r.Framing == Chunked {
		if len(r.Body) > 0 {
			fmt.Fprintf(bw, "%x\r\n", len(r.Body))
		}
		bw.Write(body)
		if !truncate {
			if len(r.Body) > 0 {
				bw.WriteString("\r\n")
			}
			bw.WriteString("0\r\n\r\n")
		}
	} else {
		bw.Write(body)
	}
	if bw.Flush() != nil {
		return false
	}
	if truncate {
		switch r.Cut {
		case CutReset:
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		case CutStall:
			// Read until the client closes the connection or Close does.
			io.Copy(io.Discard, br)
		}
	}
	return keepAlive
}

// sleep waits for d and reports whether it did so without the Origin being
// closed.
func (o *Origin) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-o.done:
		return false
	}
}

// bodyAllowed reports whether a response with the given status can have
// content, per [RFC 9110 Section 6.4.1].
//
// [RFC 9110 Section 6.4.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.4.1
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
