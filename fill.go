package acache

// This file holds the fill: the body of a response the cache will store,
// read from the origin by the cache, at the origin's pace, into the entry
// being filled, and streamed from there to every request for it, the one
// that went to the origin and those collapsed onto it (flights.go), each
// at its own pace and from its own position. Nobody holds anybody back: a
// caller that reads slowly, never reads or cancels ends only its own
// reading, and the fill goes on, bounded by fillAbandoned once nobody reads
// it, and stopped at Close. At a clean end the body is stored; cut short,
// every reader gets the same error at the same byte, and nothing is stored
// as complete (RFC 9111 Section 3.3). The fill holds the body once, for all
// its readers, within the in-flight budget, reserved whole before it begins.
//
// A fill is made only where it can hold the whole body up front: a 200 to
// a GET that leads a flight, with a Content-Length within WithMaxBodySize
// and the in-flight budget, not combined with stored bytes. Other bodies
// are teed to the store as the caller reads them (tee.go), and the
// requests collapsed onto them wait until they are stored.

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// fillAbandoned bounds the time a fill goes on once nobody reads it: the
// body is still read to its end, to be stored, for at most this long.
const fillAbandoned = 30 * time.Second

// errFillAbandoned is what cut a fill that nobody read for fillAbandoned.
var errFillAbandoned = errors.New("acache: body left unread: its fill from the origin timed out")

// errCacheClosed is what cut a fill when its Cache was closed.
var errCacheClosed = errors.New("acache: the cache was closed while the body was read from the origin")

// fill is a body read from the origin by the cache (see the file's
// comment). Its bytes, once arrived, are never written again: readers copy
// them without the lock.
type fill struct {
	mu   sync.Mutex
	buf  []byte // the bytes arrived; its capacity is size
	size int64  // the body's length, as announced
	// err is io.EOF at a clean end, or why the body was cut short; nil
	// while bytes arrive.
	err error
	// arrived is closed, and replaced, each time bytes arrive or the fill
	// ends: readers that have read all there is wait on it.
	arrived chan struct{}
	// refused says why the body was not stored, once the fill has ended
	// (0: stored, or being stored), for Cache.Explain.
	refused policy.Refusal
	readers int         // readers not closed
	idle    *time.Timer // runs while readers is 0: cuts the fill at fillAbandoned
	call    *originCall

	// entry is the response being filled, without its body, as a
	// collapsed request reads it: never written.
	entry *Entry
}

// readFrom reads body into f, publishing the bytes to its readers as they
// arrive, until f holds the body's announced length, then checks that the
// body ends there. It returns io.EOF at a clean end, errBodyTooLong for
// bytes past the announced length (not the body announced), or the error
// that cut the body short (io.ErrUnexpectedEOF for a body shorter than
// announced).
func (f *fill) readFrom(body io.Reader) error {
	for int64(len(f.buf)) < f.size { // only this goroutine writes f.buf
		n, err := body.Read(f.buf[len(f.buf):f.size])
		if n > 0 {
			f.mu.Lock()
			f.buf = f.buf[:len(f.buf)+n]
			f.wake()
			f.mu.Unlock()
		}
		switch {
		case err == io.EOF && int64(len(f.buf)) < f.size:
			return io.ErrUnexpectedEOF
		case err != nil && err != io.EOF:
			return err
		}
	}
	var probe [1]byte
	for {
		n, err := body.Read(probe[:])
		switch {
		case n > 0:
			return errBodyTooLong
		case err != nil:
			return err
		}
	}
}

// errBodyTooLong is what a fill reports of a body longer than its
// Content-Length: not the body announced, so not stored.
var errBodyTooLong = errors.New("acache: the body is longer than its Content-Length")

// end ends f: its readers get err once they have read what arrived;
// refused says why the body is not stored, if it is not.
func (f *fill) end(err error, refused policy.Refusal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.refused = err, refused
	if f.idle != nil {
		f.idle.Stop()
	}
	f.wake()
}

// failed ends f, if it has not ended, as cut short by the cache's failure,
// and lands lead.
func (f *fill) failed(lead *flightLead) {
	f.mu.Lock()
	ended := f.err != nil
	f.mu.Unlock()
	if !ended {
		f.end(errFillFailed, policy.RefuseCutShort)
		lead.land()
	}
}

// errFillFailed is what the readers of a fill get when the cache failed
// while it read the body: a panic, reported.
var errFillFailed = errors.New("acache: the cache failed while it read the body from the origin")

// wake wakes the readers waiting for bytes. f.mu is held.
func (f *fill) wake() {
	close(f.arrived)
	f.arrived = make(chan struct{})
}

// notStored returns why the body, once its fill has ended, was not stored
// as the response it came with (Cache.Explain), and whether it has ended.
func (f *fill) notStored() (refused policy.Refusal, ended bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused, f.err != nil
}

// cut reports whether f ended before its body arrived whole: a request
// that has not begun to read it goes to the origin itself.
func (f *fill) cut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err != nil && (f.err != io.EOF || f.refused != 0)
}

// reader returns a new reader of f, from its first byte, for a request
// with context ctx: its reads end when ctx does.
func (f *fill) reader(ctx context.Context) *fillReader {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers++
	if f.idle != nil {
		f.idle.Stop()
	}
	return &fillReader{f: f, ctx: ctx, closed: make(chan struct{})}
}

// leave records that a reader of f was closed: once none is left, the
// fill goes on for at most fillAbandoned.
func (f *fill) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers--
	if f.readers > 0 || f.err != nil {
		return
	}
	if f.idle == nil {
		f.idle = time.AfterFunc(fillAbandoned, func() { f.call.cancel(errFillAbandoned) })
		return
	}
	f.idle.Reset(fillAbandoned)
}

// fillReader is one request's reader of a fill: the response body it gets.
// Like a body from net/http, it fails to read once closed, and Close may be
// called while another goroutine reads.
type fillReader struct {
	f         *fill
	off       int
	ctx       context.Context
	closed    chan struct{}
	closeOnce sync.Once
}

// Read returns the bytes of the fill from the reader's position, waiting
// for them to arrive; at the fill's end, the error that ended it.
func (r *fillReader) Read(p []byte) (int, error) {
	for {
		f := r.f
		f.mu.Lock()
		ready, err, arrived := f.buf[r.off:], f.err, f.arrived
		f.mu.Unlock()
		select {
		case <-r.closed:
			return 0, errBodyClosed
		default:
		}
		if len(ready) > 0 || len(p) == 0 {
			n := copy(p, ready) // never written again: see fill
			r.off += n
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		select {
		case <-arrived:
		case <-r.closed:
			return 0, errBodyClosed
		case <-r.ctx.Done():
			return 0, context.Cause(r.ctx)
		}
	}
}

// Close ends the reader; the fill goes on for its other readers, and to
// be stored.
func (r *fillReader) Close() error {
	r.closeOnce.Do(func() {
		close(r.closed)
		r.f.leave()
	})
	return nil
}
