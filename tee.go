package acache

// This file holds the body tee: the origin's body streams to the caller
// while a copy, bounded and reserved against the cache's limits, is stored
// at a clean end (RFC 9111 Section 3.3: only complete responses).

import (
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// storeBody stores e with resp's body once the caller has read the body to
// its end intact, combined as plan says with stored bytes (partial.go). A
// response without a body is stored at once. When plan allows it, a body cut
// short (closed early, or a read error) stores the bytes that did arrive
// intact as an incomplete response (RFC 9111 Section 3.3). The store waits
// for the backend at most what is left of the request's budget b.
//
// lead, when not nil, is the flight of the requests waiting for this one
// (collapse.go): it is told when the store begins, and lands once the store
// has ended, or will not be made, so that the waiters find the response
// stored, even when the store outlasted what this request could wait for it.
func storeBody(c *Cache, req *http.Request, b *budget, resp *http.Response, e *Entry, plan bodyPlan, lead *flightLead) {
	ctx := req.Context()
	done := lead.land
	if req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 {
		lead.storing()
		c.saveThen(ctx, b, e.Key, e, done)
		return
	}
	expected := resp.ContentLength
	if s, ok := httpsyntax.ContentRange(e.Header); ok && e.StatusCode == http.StatusPartialContent {
		// A part is exactly the bytes its Content-Range places (RFC 9110
		// Section 14.4): a body longer or shorter than that, whatever its
		// framing says, is not those bytes, and is not stored.
		expected = s.Length()
	}
	tee := &teeBody{
		body:     resp.Body,
		cache:    c,
		expected: expected,
		complete: func(body []byte) {
			if e := c.completeEntry(e, &plan, body); e != nil {
				lead.storing()
				c.saveThen(ctx, b, e.Key, e, done)
				return
			}
			done()
		},
		done: done,
	}
	if plan.partial || plan.outdated {
		tee.interrupted = func(body []byte) {
			if plan.partial {
				if e := c.pieceEntry(e, &plan, body); e != nil {
					lead.storing()
					c.saveThen(ctx, b, e.Key, e, done)
					return
				}
			}
			c.remove(ctx, b, e.Key) // out of date, and nothing to replace it with
			done()
		}
	}
	resp.Body = tee
}

// teeBody streams a response body to the caller while keeping a copy, and
// hands the copy to complete when the body reached EOF intact: without a read
// error, within the cache's body size limit, with the length the origin
// announced, and before the caller closed it. When the body is cut short (a
// read error, or closed before its end) and interrupted is set, it hands
// interrupted the bytes that arrived before: every byte a Read returned
// without an error, none of those that came with one. Otherwise the copy is
// dropped.
//
// The copy grows with the bytes that arrive, never ahead of them, and every
// byte of its capacity is reserved against the cache's byte limit, which all
// bodies in flight share: when the reservation fails, the copy is dropped and
// the body streams on uncached.
type teeBody struct {
	body        io.ReadCloser
	cache       *Cache
	expected    int64             // Content-Length, or -1
	complete    func(body []byte) // calls done when the store has ended
	interrupted func(body []byte) // likewise; nil: a body cut short stores nothing
	done        func()            // called when the copy is dropped

	// mu guards the fields below: Close may be called while a Read is
	// blocked in another goroutine.
	mu       sync.Mutex
	buf      []byte
	reserved int64          // bytes of the cache's in-flight budget that buf holds
	dropped  bool           // over the limit, failed, closed early or already stored
	refused  policy.Refusal // why the body was not stored whole, once dropped
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if body, reserved, cut := b.keep(p[:n], err); body != nil {
		b.hand(body, reserved, cut)
	}
	return n, err
}

// hand releases the copy's reservation and hands it on: to complete, or to
// interrupted when the body was cut short, either of which calls done once
// the store has ended. The store counts the body against the same limit as
// the reservation: it is released first, so that it is never counted twice.
// b.mu is not held: a Close need not wait for the store.
func (b *teeBody) hand(body []byte, reserved int64, cut bool) {
	b.cache.inFlight.Add(-reserved)
	if cut {
		b.interrupted(body)
	} else {
		b.complete(body)
	}
}

// keep adds p, just read with err, to the copy, and returns the complete
// body once the copy holds all of it, with the in-flight bytes it reserved,
// for the caller to release; or, when err cuts the body short, what arrived
// before p (cut).
func (b *teeBody) keep(p []byte, err error) (body []byte, reserved int64, cut bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return nil, 0, false
	}
	if err != nil && err != io.EOF {
		body, reserved = b.cut()
		return body, reserved, body != nil
	}
	if refused := b.grow(len(p)); refused != 0 {
		b.drop(refused)
		return nil, 0, false
	}
	b.buf = append(b.buf, p...)
	if err != io.EOF {
		return nil, 0, false
	}
	body = b.buf
	if b.expected >= 0 && int64(len(body)) != b.expected {
		b.drop(policy.RefuseCutShort)
		return nil, 0, false
	}
	if cap(body)-len(body) > len(body)/8 {
		body = slices.Clone(body) // do not store the slack of the last growth
	}
	reserved = b.reserved
	b.dropped, b.buf, b.reserved = true, nil, 0
	return body, reserved, false
}

// cut ends the copy of a body cut short: it returns the bytes that arrived,
// with their reservation, when they may be stored as an incomplete response,
// and otherwise drops them and returns nil. b.mu is held.
func (b *teeBody) cut() (body []byte, reserved int64) {
	if b.interrupted == nil || len(b.buf) == 0 {
		b.drop(policy.RefuseCutShort)
		return nil, 0
	}
	b.refused = policy.RefuseCutShort // what is stored, if anything, is the part that arrived
	body, reserved = b.buf, b.reserved
	if cap(body)-len(body) > len(body)/8 {
		body = slices.Clone(body)
	}
	b.dropped, b.buf, b.reserved = true, nil, 0
	return body, reserved
}

// grow makes room in the copy for n more bytes, reserving what it adds; it
// returns why it cannot: the body passes the announced length
// (RefuseCutShort: it is not the body announced), or the size limit, or the
// budget of bodies in flight is spent (RefuseTooLarge). b.mu is held.
func (b *teeBody) grow(n int) policy.Refusal {
	need := int64(len(b.buf) + n)
	if need <= int64(cap(b.buf)) {
		return 0
	}
	if b.expected >= 0 && need > b.expected {
		return policy.RefuseCutShort
	}
	limit := b.cache.maxBodySize
	if b.expected >= 0 {
		limit = min(limit, b.expected)
	}
	if need > limit {
		return policy.RefuseTooLarge
	}
	newCap := min(max(need, 2*int64(cap(b.buf)), 512), limit)
	if !b.cache.reserveInFlight(newCap - int64(cap(b.buf))) {
		return policy.RefuseTooLarge
	}
	b.reserved += newCap - int64(cap(b.buf))
	grown := make([]byte, len(b.buf), newCap)
	copy(grown, b.buf)
	b.buf = grown
	return 0
}

func (b *teeBody) Close() error {
	b.mu.Lock()
	var body []byte
	var reserved int64
	if !b.dropped {
		body, reserved = b.cut() // closed before its end
	}
	b.mu.Unlock()
	err := b.body.Close()
	if body != nil {
		b.hand(body, reserved, true)
	}
	return err
}

// drop releases the copy and its reservation, for the reason refused;
// nothing is stored after it. b.mu is held.
func (b *teeBody) drop(refused policy.Refusal) {
	b.cache.inFlight.Add(-b.reserved)
	if !b.dropped {
		b.refused = refused
		b.done() // nothing will be stored: the waiters go to the origin
	}
	b.dropped, b.buf, b.reserved = true, nil, 0
}

// notStored returns why the body, which has ended, was not stored as the
// response it came with (Cache.Explain), and whether it has ended at all.
func (b *teeBody) notStored() (refused policy.Refusal, ended bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused, b.dropped
}
