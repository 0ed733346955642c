package acache

// This file holds the fill: the body of a response the cache will store,
// read from the origin by the cache, at the origin's pace, into the entry
// being filled, and streamed from there to every request for it, the one
// that went to the origin and those collapsed onto it (flights.go), each
// at its own pace and from its own position (fillreader.go). Nobody holds
// anybody back: a caller that reads slowly, never reads or cancels ends
// only its own reading, and the fill goes on, bounded by fillAbandoned once
// nobody reads it, and stopped at Close. At a clean end the body is stored;
// cut short, every reader gets the same error at the same byte, and nothing
// is stored as complete (RFC 9111 Section 3.3). The fill holds the body
// once, for all its readers, within the in-flight budget: a body of known
// length is reserved whole before it begins, one of unknown length a
// segment at a time as it arrives.
//
// A body of unknown length that outgrows WithMaxBodySize, or the in-flight
// budget, is not stored: the flight lands at once, so that the requests
// that have not begun to read it go to the origin themselves, and the fill
// goes on for its readers alone, at the pace of the reader in front, holding
// the bytes between it and the readers behind within the in-flight budget;
// when that is spent, the oldest bytes go. A reader left behind them resumes from the origin with a Range from its position, under
// If-Range, when the response has a strong entity-tag and "Accept-Ranges:
// bytes" (RFC 9110 Sections 13.1.5 and 14); otherwise its body is cut short
// there (Stats.BodiesCut): the one case in which a request fails because
// of the cache.
//
// filling.go says which bodies the Cache fills, and runs the fill.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// fillAbandoned bounds the time a fill goes on once nobody reads it: the
// body is still read to its end, to be stored, for at most this long.
const fillAbandoned = 30 * time.Second

// fillFirstSegment and fillSegment are the sizes of the first and of the
// largest segments that hold a body of unknown length; each segment holds
// as many bytes as have arrived before it, within those bounds.
const (
	fillFirstSegment = 4 << 10
	fillSegment      = 64 << 10
)

var (
	// errFillAbandoned is what cut a fill that nobody read for
	// fillAbandoned, or, once it outgrew the limits, at once.
	errFillAbandoned = errors.New("acache: body left unread: its fill from the origin ended")
	// errCacheClosed is what cut a fill when its Cache was closed.
	errCacheClosed = errors.New("acache: the cache was closed while the body was read from the origin")
	// errBodyTooLong is what a fill reports of a body longer than its
	// Content-Length: not the body announced, so not stored.
	errBodyTooLong = errors.New("acache: the body is longer than its Content-Length")
	// errFillFailed is what the readers of a fill get when the cache
	// failed while it read the body: a panic, reported.
	errFillFailed = errors.New("acache: the cache failed while it read the body from the origin")
	// errFillHandOver ends a fill that outgrew the limits and can hold no
	// more of its body: the rest goes to the reader in front (handOver).
	errFillHandOver = errors.New("acache: the body's fill handed the rest to its reader in front")
	// errBodyCut is what a reader left behind the window of a body that
	// outgrew the limits gets where it cannot resume.
	errBodyCut = errors.New("acache: body cut short by the cache: it outgrew WithMaxBodySize or the in-flight budget while this reader was too far behind, and the origin does not serve ranges of it")
)

// fill is a body read from the origin by the cache (see the file's
// comment). Its bytes, once arrived, are never written again: readers copy
// them without the lock.
type fill struct {
	mu sync.Mutex
	// segs hold the bytes the fill holds, in order, the first at position
	// base: one segment of the announced length, or segments of
	// fillSegment bytes. Only the fill's goroutine writes them, past their
	// lengths; total is the count of bytes arrived.
	segs        [][]byte
	base, total int64
	// size is the body's announced length, or -1; limit is the most the
	// fill holds: size, or WithMaxBodySize.
	size, limit int64
	// reserved is what segs hold of the in-flight budget, which reserve
	// and release draw on and give back to.
	reserved int64
	reserve  func(n int64) bool
	release  func(n int64)
	// err is io.EOF at a clean end, or why the body was cut short; nil
	// while bytes arrive.
	err error
	// arrived is closed, and replaced, each time bytes arrive or the fill
	// ends: readers that have read all there is wait on it.
	arrived chan struct{}
	// refused says why the body is not stored (0: stored, or to be), for
	// Cache.Explain: set when the fill outgrows the limits, or ends.
	refused policy.Refusal
	// outgrown reports a body that outgrew the limits: a window of it,
	// read from the origin at the pace of its reader in front: demand is
	// closed, and replaced, when a reader waits for more (demanded).
	outgrown bool
	demanded bool
	demand   chan struct{}
	front    int64       // the furthest position a reader has read to
	readers  int         // readers not closed
	idle     *time.Timer // runs while readers is 0: cuts the fill at fillAbandoned
	call     *originCall

	// tail is the rest of the origin's body, past total, once the fill
	// handed it over (errFillHandOver), until the reader in front takes it;
	// unread is what the fill read of it first, to see whether it ended.
	tail   io.ReadCloser
	unread []byte
	// resume, when not nil, fetches the body from a position on, for a
	// reader left behind the window; cutShort counts a reader cut short
	// instead.
	resume   func(ctx context.Context, from int64) (io.ReadCloser, error)
	cutShort func()

	// entry is the response being filled, without its body, as a
	// collapsed request reads it: never written.
	entry *Entry
}

// readFrom reads body into f, publishing the bytes to its readers as they
// arrive, until the body ends, or f holds its announced length and it
// checks that it ends there; outgrown is called if the body outgrows the
// limits. It returns io.EOF at a clean end, errBodyTooLong for bytes past
// the announced length (not the body announced), or the error that cut the
// body short (io.ErrUnexpectedEOF for a body shorter than announced).
func (f *fill) readFrom(body io.Reader, outgrown func()) error {
	for f.size < 0 || f.total < f.size {
		if err := f.awaitDemand(); err != nil {
			return err
		}
		last := f.lastSegment()
		if len(last) == cap(last) {
			if err := f.makeRoom(body, outgrown); err != nil {
				return err
			}
			last = f.lastSegment() // the demand met stands: read into it
		}
		n, err := body.Read(last[len(last):cap(last)])
		f.publish(n)
		switch {
		case err == io.EOF && f.total < f.size:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
	}
	var probe [1]byte
	n, err := readSome(body, probe[:])
	if n > 0 {
		return errBodyTooLong
	}
	return err
}

// makeRoom adds a segment for more bytes of a body of unknown length. At
// the limits, it first checks whether the body ends right there (io.EOF);
// if not, the body has outgrown them: outgrown is called, and the fill
// goes on as a window. It returns the error that ends the body, if any.
func (f *fill) makeRoom(body io.Reader, outgrown func()) error {
	if f.addSegment() {
		return nil
	}
	var probe [1]byte
	n := 0
	if !f.outgrown { // only this goroutine writes it
		if f.total == f.limit { // not the budget: the size limit
			var err error
			if n, err = readSome(body, probe[:]); n == 0 {
				return err // io.EOF: it ends at the limit, and is stored
			}
		}
		f.outgrow()
		outgrown()
	}
	for !f.addSegment() {
		if !f.holdsAny() {
			f.unread = probe[:n]
			return errFillHandOver // the budget is spent, and nothing is left to drop
		}
		f.mu.Lock()
		f.wake() // the reader in front asks for more once it has read all there is
		f.mu.Unlock()
		if err := f.awaitDemand(); err != nil {
			return err
		}
	}
	f.publish(copy(f.lastSegment()[:1], probe[:n]))
	return nil
}

// holdsAny reports whether f holds segments, which it may drop once the
// reader in front has read them.
func (f *fill) holdsAny() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.segs) > 0
}

// readSome reads into p until a Read returns bytes or an error.
func readSome(r io.Reader, p []byte) (int, error) {
	for {
		if n, err := r.Read(p); n > 0 || err != nil {
			return n, err
		}
	}
}

// publish makes the next n bytes of the last segment, written by the
// fill's goroutine, readable, and wakes the readers.
func (f *fill) publish(n int) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.segs[len(f.segs)-1]
	f.segs[len(f.segs)-1] = last[:len(last)+n]
	f.total += int64(n)
	f.wake()
}

// awaitDemand waits, once the body has outgrown the limits, until a reader
// waits for bytes that have not arrived: the fill then goes at the pace of
// the reader in front, as the origin's body would without the cache. It
// returns the error that ends the fill meanwhile (Close, or no reader
// left).
func (f *fill) awaitDemand() error {
	f.mu.Lock()
	if !f.outgrown || f.demanded { // a demand made before it outgrew them counts
		f.demanded = f.demanded && !f.outgrown
		f.mu.Unlock()
		return nil
	}
	demand := f.demand
	f.mu.Unlock()
	select {
	case <-demand:
	case <-f.call.ctx.Done():
		return context.Cause(f.call.ctx)
	}
	f.mu.Lock()
	f.demanded = false
	f.mu.Unlock()
	return nil
}

// want records that a reader waits for bytes that have not arrived: the
// fill of a body that outgrew the limits reads more. f.mu is held.
func (f *fill) want() {
	if !f.demanded {
		f.demanded = true
		close(f.demand)
		f.demand = make(chan struct{})
	}
}

// lastSegment returns the segment the next bytes go to; nil for none.
// Only the fill's goroutine calls it.
func (f *fill) lastSegment() []byte {
	if len(f.segs) == 0 {
		return nil
	}
	return f.segs[len(f.segs)-1]
}

// addSegment adds a segment for more bytes of a body of unknown length,
// within the limits, and reports whether it could. Once the body has
// outgrown WithMaxBodySize, the segments are held within the in-flight
// budget alone; when it is spent, the oldest segments that the reader in
// front has read go, to make room.
func (f *fill) addSegment() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	size := min(max(f.total, fillFirstSegment), fillSegment) // doubling up to fillSegment
	if !f.outgrown {
		size = min(size, f.limit-f.total)
	}
	if f.outgrown {
		for !f.reserve(size) {
			if len(f.segs) == 0 && size > fillFirstSegment {
				size /= 2 // what the budget has room for
				continue
			}
			if len(f.segs) == 0 || f.base+int64(len(f.segs[0])) > f.front {
				return false
			}
			dropped := f.segs[0]
			f.segs = f.segs[1:] // readers still copying from it keep it alive
			f.base += int64(len(dropped))
			f.release(int64(cap(dropped)))
			f.reserved -= int64(cap(dropped))
		}
	} else if size <= 0 || !f.reserve(size) {
		return false
	}
	f.segs = append(f.segs, make([]byte, 0, size))
	f.reserved += size
	return true
}

// outgrow records that the body outgrew the limits: it will not be
// stored, and the fill goes on for its readers alone. With nobody to read
// it, it ends.
func (f *fill) outgrow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outgrown, f.refused = true, policy.RefuseTooLarge
	if f.readers == 0 {
		f.call.cancel(errFillAbandoned) // nobody will read it
	}
}

// handOver ends a fill that can hold no more of a body that outgrew the
// limits: tail, the rest of the origin's body, goes to the reader in front,
// the first to reach the end of what arrived; the others resume, or are
// cut short. With no reader left, it is closed at once.
func (f *fill) handOver(tail io.ReadCloser) {
	if len(f.unread) > 0 {
		tail = &prefixedReadCloser{Reader: io.MultiReader(bytes.NewReader(f.unread), tail), Closer: tail}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.tail = errFillHandOver, tail
	f.wake()
	if f.readers == 0 {
		f.dropTail()
	}
}

// takeTail returns the rest of the origin's body for a reader at position
// off, the end of what arrived, once: nil for any other.
func (f *fill) takeTail(off int64) io.ReadCloser {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off != f.total {
		return nil
	}
	tail := f.tail
	f.tail = nil
	return tail
}

// prefixedReadCloser reads Reader and closes Closer.
type prefixedReadCloser struct {
	io.Reader
	io.Closer
}

// dropTail closes the tail nobody took, and gives back what f holds: no
// reader is left. f.mu is held.
func (f *fill) dropTail() {
	if f.tail != nil {
		f.tail.Close()
		f.tail = nil
	}
	f.release(f.reserved)
	f.reserved = 0
}

// body returns the body f holds, as one slice with no slack, once it has
// arrived whole: the one segment of a body of known length, or its
// segments joined.
func (f *fill) body() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.segs) == 1 {
		return trimmed(f.segs[0])
	}
	joined := make([]byte, 0, f.total)
	for _, s := range f.segs {
		joined = append(joined, s...)
	}
	return joined
}

// giveBack gives back the in-flight bytes f reserved, once its body has
// ended: a store counts them from then on.
func (f *fill) giveBack() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.release(f.reserved)
	f.reserved = 0
}

// end ends f: its readers get err once they have read what arrived;
// refused says why the body is not stored, if it is not. It gives back
// what f reserved, if it still holds it.
func (f *fill) end(err error, refused policy.Refusal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	if f.refused == 0 {
		f.refused = refused
	}
	if f.idle != nil {
		f.idle.Stop()
	}
	f.release(f.reserved)
	f.reserved = 0
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

// cut reports whether f will not be stored: it ended before its body
// arrived whole, or outgrew the limits. A request that has not begun to
// read it goes to the origin itself.
func (f *fill) cut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outgrown || f.err != nil && (f.err != io.EOF || f.refused != 0)
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
// fill goes on for at most fillAbandoned, to be stored; one that outgrew
// the limits, which nobody will read, ends at once.
func (f *fill) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers--
	switch {
	case f.readers > 0:
	case f.err == errFillHandOver:
		f.dropTail()
	case f.err != nil:
	case f.outgrown:
		f.call.cancel(errFillAbandoned)
	case f.idle == nil:
		f.idle = time.AfterFunc(fillAbandoned, func() { f.call.cancel(errFillAbandoned) })
	default:
		f.idle.Reset(fillAbandoned)
	}
}

// from returns the bytes f holds from position off on, until the end of
// their segment, with f's end and its arrived channel; behind reports that
// f no longer holds the bytes at off.
func (f *fill) from(off int64) (ready []byte, err error, arrived chan struct{}, behind bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off < f.base {
		return nil, f.err, f.arrived, true
	}
	f.front = max(f.front, off)
	pos := f.base
	for _, s := range f.segs {
		if off < pos+int64(len(s)) {
			return s[off-pos:], f.err, f.arrived, false
		}
		pos += int64(len(s))
	}
	if f.err == nil {
		f.want()
	}
	return nil, f.err, f.arrived, false
}

// trimmed returns body, or a copy of it when its array holds more than an
// eighth more than its bytes: what is stored holds no slack.
func trimmed(body []byte) []byte {
	if cap(body)-len(body) > len(body)/8 {
		return slices.Clone(body)
	}
	return body
}
