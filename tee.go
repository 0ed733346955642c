package acache

// This file holds the body tee: the origin's body streams to the caller
// while a copy, bounded and reserved against the cache's limits, is stored
// at a clean end (RFC 9111 Section 3.3: only complete responses), or, when
// the body is cut short, kept as the incomplete response it is; and the
// parts the tee stores: incomplete responses ([RFC 9111 Section 3.3]),
// combined with new parts ([RFC 9111 Section 3.4]).
//
// An incomplete response is stored as an Entry like any other, under the
// key of the GET request, with no field of its own: its StatusCode is 206
// and its Header carries the Content-Range "bytes first-last/complete" of
// the bytes in its Body, one contiguous range of a representation whose
// complete length is known and that has a strong entity-tag (RFC 9110
// Section 8.8.1). The strong validator is what makes two parts combinable:
// they are bytes of one and the same representation. An incomplete entry is
// never served as a complete response: it answers only Range requests that
// its bytes cover (serve.go), and otherwise tells the cache which bytes to
// ask the origin for (decide.go, request.go, [RFC 9110 Section 13.1.5]). One
// entry per key (and Vary selection): a complete response replaces an
// incomplete one; a new part with the same strong validator is combined
// with the stored one when the two touch or overlap; otherwise the newer
// replaces the older. Incomplete entries count against WithMaxBytes like any
// other and hold at most WithMaxBodySize bytes.
//
// [RFC 9111 Section 3.3]: https://www.rfc-editor.org/rfc/rfc9111#section-3.3
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
// [RFC 9110 Section 13.1.5]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
		c.saveUnlessInvalidated(ctx, b, e, plan.seen, plan.invalidated, done)
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
				c.saveUnlessInvalidated(ctx, b, e, plan.seen, plan.invalidated, done)
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
					c.saveUnlessInvalidated(ctx, b, e, plan.seen, plan.invalidated, done)
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
	done        func()            // called when the copy is dropped, without mu

	// mu guards the fields below: Close may be called while a Read is
	// blocked in another goroutine.
	mu       sync.Mutex
	buf      []byte
	reserved int64          // bytes of the cache's in-flight budget that buf holds
	dropped  bool           // over the limit, failed, closed early or already stored
	refused  policy.Refusal // why the body was not stored whole, once dropped
	// landing reports a copy just dropped: the flight is to land (done),
	// once mu is released.
	landing bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	body, reserved, cut, land := b.keep(p[:n], err)
	if land {
		b.done() // b.mu is not held: waking the waiters takes the flights' lock
	}
	if body != nil {
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
//
// land reports that the copy was dropped: the caller lands the flight (done)
// once b.mu is released.
func (b *teeBody) keep(p []byte, err error) (body []byte, reserved int64, cut, land bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() { land, b.landing = b.landing, false }() // before the unlock
	if b.dropped {
		return nil, 0, false, false
	}
	if err != nil && err != io.EOF {
		body, reserved = b.cut()
		return body, reserved, body != nil, false
	}
	if refused := b.grow(len(p)); refused != 0 {
		b.drop(refused)
		return nil, 0, false, false
	}
	b.buf = append(b.buf, p...)
	if err != io.EOF {
		return nil, 0, false, false
	}
	body = b.buf
	if b.expected >= 0 && int64(len(body)) != b.expected {
		b.drop(policy.RefuseCutShort)
		return nil, 0, false, false
	}
	if cap(body)-len(body) > len(body)/8 {
		body = slices.Clone(body) // do not store the slack of the last growth
	}
	reserved = b.reserved
	b.dropped, b.buf, b.reserved = true, nil, 0
	return body, reserved, false, false
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
	land := b.landing
	b.landing = false
	b.mu.Unlock()
	if land {
		b.done()
	}
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
		b.cache.notStored(refused) // Stats.Refusals: admitted, then not stored
		b.refused = refused
		b.landing = true // nothing will be stored: the waiters go to the origin
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

// resumable returns the span that the body of resp, stored as e, would
// start when cut short, and whether the bytes that did arrive may then be
// stored as an incomplete response ([RFC 9111 Section 3.3]): a 206 that is
// storable as such, or a 200 to a GET with a strong entity-tag, a known
// length and "Accept-Ranges: bytes", whose bytes are the origin's (not
// decompressed by the inner transport).
//
// [RFC 9111 Section 3.3]: https://www.rfc-editor.org/rfc/rfc9111#section-3.3
func resumable(req *http.Request, resp *http.Response, e *Entry) (first, size int64, ok bool) {
	if req.Method != http.MethodGet || resp.Uncompressed || e.StatusCode != resp.StatusCode {
		return 0, 0, false
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		s, ok := httpsyntax.ContentRange(e.Header)
		return s.Range.First, s.Size, ok && policy.StorablePartial(req, resp)
	case http.StatusOK:
		_, strong := httpsyntax.StrongETag(e.Header)
		if !strong || resp.ContentLength <= 0 || !acceptsByteRanges(e.Header) {
			return 0, 0, false
		}
		return 0, resp.ContentLength, true
	}
	return 0, 0, false
}

// acceptsByteRanges reports an Accept-Ranges field that lists "bytes"
// ([RFC 9110 Section 14.3]).
//
// [RFC 9110 Section 14.3]: https://www.rfc-editor.org/rfc/rfc9110#section-14.3
func acceptsByteRanges(h http.Header) bool {
	return httpsyntax.ListContains(h, "Accept-Ranges", "bytes")
}

// piece is a contiguous part of a representation: body holds its bytes from
// position first on.
type piece struct {
	first int64
	body  []byte
}

// end returns the position after the last byte of p.
func (p piece) end() int64 { return p.first + int64(len(p.body)) }

// union returns the bytes of old and new, two pieces of one representation
// (the same strong validator), as one piece when they touch or overlap, per
// [RFC 9111 Section 3.4]; where they overlap, new's bytes are taken. ok is
// false when a gap separates them. The result never shares memory with a
// stored body that another reader may hold, except when it is new itself.
//
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
func union(old, new piece) (piece, bool) {
	if new.first > old.end() || old.first > new.end() {
		return piece{}, false
	}
	first, end := min(old.first, new.first), max(old.end(), new.end())
	if first == new.first && end == new.end() {
		return new, true // new covers old
	}
	out := make([]byte, end-first)
	copy(out[old.first-first:], old.body)
	copy(out[new.first-first:], new.body)
	return piece{first, out}, true
}

// withPiece returns a copy of e, the entry that stores a response, holding
// p of a representation of size bytes: a complete 200 when p is all of it,
// else an incomplete 206 whose Content-Range and Content-Length describe p.
// What the Cache derives from it is derived again.
func (c *Cache) withPiece(e *Entry, p piece, size int64) *Entry {
	out := *e
	out.Header = e.Header.Clone()
	out.Body = p.body
	out.Variants, out.Partitions = nil, nil
	n := int64(len(p.body))
	if p.first == 0 && n == size {
		out.StatusCode = http.StatusOK
		delete(out.Header, "Content-Range")
	} else {
		out.StatusCode = http.StatusPartialContent
		out.Header["Content-Range"] = []string{httpsyntax.Span{Range: httpsyntax.ByteRange{First: p.first, Last: p.first + n - 1}, Size: size}.String()}
	}
	out.Header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	out.meta = deriveMeta(&out, c.derivation)
	return &out
}

// bodyPlan says how the body of a response being stored is combined with
// stored bytes, and what is stored when it is cut short.
type bodyPlan struct {
	// base is the stored piece the body continues or overlaps (same strong
	// validator), combined with it per RFC 9111 Section 3.4; nil body: none.
	base piece
	// first is the position of the body's first byte in the representation,
	// size the representation's length.
	first, size int64
	// partial reports that a body cut short may be stored, as an
	// incomplete response of the bytes that did arrive.
	partial bool
	// combine reports that the body is a piece of a representation to
	// combine with base (or to store as a piece): withPiece builds the
	// entry. When false, the body is e's body as it is.
	combine bool
	// outdated reports that the response stored under the key is of
	// another representation: a body cut short that stores nothing removes
	// it.
	outdated bool
	// seen is what the lookup found under the key, for the store to merge
	// with (storecommit.go); invalidated is the count of invalidations
	// when the request was decided (invalidations.seen).
	seen        lookedUp
	invalidated uint64
}

// completeEntry returns the entry to store once the body has arrived
// complete.
func (c *Cache) completeEntry(e *Entry, plan *bodyPlan, body []byte) *Entry {
	if !plan.combine {
		e.Body = body
		return e
	}
	return c.pieceEntry(e, plan, body)
}

// pieceEntry returns the entry holding body, at plan.first, combined with
// plan.base when the two touch, and nil when the result would be larger
// than the Cache stores for one response.
func (c *Cache) pieceEntry(e *Entry, plan *bodyPlan, body []byte) *Entry {
	p := piece{plan.first, body}
	if p.end() > plan.size {
		return nil // more than the representation holds: not its bytes
	}
	if len(plan.base.body) > 0 {
		if u, ok := union(plan.base, p); ok && int64(len(u.body)) <= c.maxBodySize {
			p = u
		}
	}
	if int64(len(p.body)) > c.maxBodySize || len(p.body) == 0 {
		return nil
	}
	return c.withPiece(e, p, plan.size)
}

// planBody returns how the body of resp, which a is to store, is stored: as
// it is, or as a piece of a representation, combined with the incomplete
// response d found when the two are parts of one representation
// ([RFC 9111 Section 3.4]). keep is false when the response is not to be
// stored at all: a part of a representation that is stored complete.
//
// A part never replaces the complete response of the same representation:
// when d found one with the same strong validator, a body cut short stores
// nothing, and the complete response stays. When d found a response of
// another representation, it is out of date: a body cut short replaces it
// with the part that arrived, or, when that cannot be stored, removes it.
//
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
func planBody(d *decision, resp *http.Response, e *Entry) (plan bodyPlan, keep bool) {
	plan.seen, plan.invalidated = d.seen, d.invalidated
	first, size, resumes := resumable(d.req, resp, e)
	if resumes {
		plan.first, plan.size, plan.partial, plan.combine = first, size, true, e.StatusCode == http.StatusPartialContent
	}
	if d.entry == nil || d.bypass {
		return plan, true
	}
	newTag, _ := httpsyntax.StrongETag(e.Header)
	oldTag, strong := httpsyntax.StrongETag(d.entry.Header)
	if !strong || !httpsyntax.StrongMatch(oldTag, newTag) || !sameCoding(d.entry.Header, e.Header) {
		// Another representation: the newer replaces the older, which
		// is out of date even if the newer is cut short.
		plan.outdated = d.entryKey == d.key && resp.StatusCode == http.StatusOK
		return plan, true
	}
	if !resumes {
		return plan, true
	}
	if d.entry.StatusCode == http.StatusOK && int64(len(d.entry.Body)) == size {
		if e.StatusCode == http.StatusPartialContent {
			return bodyPlan{}, false // a part of what is stored complete
		}
		plan.partial = false // cut short, it would be a part of what is stored complete
		return plan, true
	}
	if have, ok := incompleteOf(d.entry); ok && have.Size == size {
		plan.base = piece{have.Range.First, d.entry.Body}
		plan.combine = true
	}
	return plan, true
}

// sameCoding reports whether two responses have the same Content-Encoding:
// byte ranges are ranges of the representation as encoded.
func sameCoding(a, b http.Header) bool {
	return strings.Join(a["Content-Encoding"], ",") == strings.Join(b["Content-Encoding"], ",")
}

// saveUnlessInvalidated stores e as saveThen does, unless its URI was
// invalidated since the request for it was decided (count, from
// invalidations.seen); when an invalidation comes while the store is made,
// what it stored is removed again. then is called once it has ended.
func (c *Cache) saveUnlessInvalidated(ctx context.Context, b *budget, e *Entry, seen lookedUp, count uint64, then func()) {
	if c.invalidations.invalidatedSince(e.Key, count) {
		if then != nil {
			then()
		}
		return
	}
	c.saveThen(ctx, b, e.Key, e, seen, func() {
		if c.invalidations.invalidatedSince(e.Key, count) {
			c.remove(context.WithoutCancel(ctx), nil, e.Key)
		}
		if then != nil {
			then()
		}
	})
}
