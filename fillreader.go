package acache

import (
	"context"
	"errors"
	"io"
	"sync"
)

// errBodyClosed is what a body the cache returns (a stored body, a fill's
// reader) reads after Close, as net/http's bodies do.
var errBodyClosed = errors.New("acache: read on closed response body")

// fillReader is one request's reader of a fill (fill.go): the response
// body it gets. Like a body from net/http, it fails to read once closed,
// and Close may be called while another goroutine reads.
type fillReader struct {
	f         *fill
	off       int64
	ctx       context.Context
	closed    chan struct{}
	closeOnce sync.Once

	// mu guards rest, the rest of a body that outgrew the limits, from the
	// origin, and stopCancel, which unties the origin's request from the
	// reader's context.
	mu         sync.Mutex
	rest       io.ReadCloser
	stopCancel func() bool
}

// Read returns the bytes of the fill from the reader's position, waiting
// for them to arrive; at the fill's end, the error that ended it.
func (r *fillReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	rest := r.rest
	r.mu.Unlock()
	if rest != nil {
		return rest.Read(p)
	}
	for {
		ready, err, arrived, behind := r.f.from(r.off)
		select {
		case <-r.closed:
			return 0, errBodyClosed
		default:
		}
		switch {
		case behind, err == errFillHandOver && len(ready) == 0:
			return r.readRest(p)
		case len(ready) > 0 || len(p) == 0:
			n := copy(p, ready) // never written again: see fill
			r.off += int64(n)
			return n, nil
		case err != nil:
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

// readRest reads the rest of a body that outgrew the limits, past what its
// fill holds for this reader (see openRest).
func (r *fillReader) readRest(p []byte) (int, error) {
	rest, err := r.openRest()
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	select {
	case <-r.closed: // Close came first: it did not see rest
		r.mu.Unlock()
		rest.Close()
		return 0, errBodyClosed
	default:
	}
	r.rest = rest
	r.mu.Unlock()
	return rest.Read(p)
}

// openRest returns the rest of the body from the reader's position on: the
// origin's own, handed over by the fill, for the reader in front, whose
// context then ends the origin's request; else a range of it from the
// origin, when the fill can resume it; else the error that cuts this
// reader's body short, counted.
func (r *fillReader) openRest() (io.ReadCloser, error) {
	f := r.f
	if tail := f.takeTail(r.off); tail != nil {
		stop := context.AfterFunc(r.ctx, func() { f.call.cancel(context.Cause(r.ctx)) })
		r.mu.Lock()
		r.stopCancel = stop
		r.mu.Unlock()
		return tail, nil
	}
	if f.resume == nil {
		f.cutShort()
		return nil, errBodyCut
	}
	rest, err := f.resume(r.ctx, r.off)
	if err != nil {
		f.cutShort()
		return nil, err
	}
	return rest, nil
}

// Close ends the reader; the fill goes on for its other readers, and to
// be stored.
func (r *fillReader) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		r.mu.Lock()
		rest, stop := r.rest, r.stopCancel
		r.mu.Unlock()
		if stop != nil {
			stop()
		}
		if rest != nil {
			err = rest.Close()
		}
		r.f.leave()
	})
	return err
}
