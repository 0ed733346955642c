package main

import (
	"net/http"
	"time"
)

// withWriteDeadline returns h with a write deadline that moves with progress
// (-write-timeout): every write to the client must finish within timeout of
// its start, however long the whole response takes. A client that stops
// reading is cut off timeout after the proxy's buffers and its own fill up,
// while a long download that keeps moving, or a response the origin takes
// minutes to produce, is not. One server-wide [http.Server.WriteTimeout]
// could not tell them apart: it bounds the whole response, from the end of
// the request's headers. timeout <= 0 returns h unchanged: no deadline.
//
// The deadline is set through [http.ResponseController], before each
// WriteHeader, Write and Flush, and once more when h returns, for the bytes
// the server still has to write then (the rest of its buffer, the last
// chunk); the server clears it when the response is done. Until the first
// write there is none: waiting for the origin is not writing. A connection
// that h hijacks (an upgrade to WebSocket) leaves without one, as the server
// clears a hijacked connection's deadlines.
func withWriteDeadline(h http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
		defer dw.extend()
		h.ServeHTTP(dw, r)
	})
}

// deadlineWriter is an [http.ResponseWriter] that sets the connection's write
// deadline timeout ahead before each write: see [withWriteDeadline]. Like the
// ResponseWriter it wraps, it is not for concurrent use (ReverseProxy
// serialises its writes and its timed flushes).
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// extend moves the write deadline to timeout from now. Its only error,
// [http.ErrNotSupported] from a ResponseWriter without deadlines (never the
// server's own), leaves the response without one.
func (w *deadlineWriter) extend() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
}

// WriteHeader extends the deadline and writes the header; a 1xx one is
// written to the client at once.
func (w *deadlineWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

// Write extends the deadline and writes p.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// FlushError extends the deadline and sends what is buffered to the client;
// [http.ResponseController.Flush] calls it.
func (w *deadlineWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Flush is FlushError for callers that want an [http.Flusher].
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped ResponseWriter, through which
// [http.ResponseController] finds the rest (Hijack, SetReadDeadline).
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
