package acache

// This file holds the fill as the Cache runs it (fill.go): which bodies it
// fills, the goroutine that reads one from the origin and stores it, and
// the response a request collapsed onto a fill gets.

import (
	"context"
	"io"
	"net/http"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// fill makes the cache fill e, which it stores (admit), with the body of
// resp, the origin's answer to the request that leads l's flight, decided
// as d, when that body may be filled: a 200 to a GET, not combined with
// stored bytes, whose length, if announced, is within WithMaxBodySize.
// resp's body becomes the caller's reader of the fill, and the flight's
// waiters read it too. It reports false, changing nothing, when it may not.
func (l *flightLead) fill(c *Cache, d *decision, resp *http.Response, e *Entry, plan bodyPlan) bool {
	fillable := l != nil && l.call != nil && d.part.kind != partialFill && !plan.combine &&
		d.req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && e.StatusCode == http.StatusOK &&
		resp.ContentLength != 0 && resp.ContentLength <= c.maxBodySize
	return fillable && c.startFill(d, resp, e, plan, l.call, l)
}

// startFill begins to fill e with the body of resp, the origin's answer to
// d's request, sent with call, and makes resp's body a reader of the fill
// for the caller. Once the body has arrived whole, e is stored as plan
// says, then lead lands; cut short, what plan allows is stored, and lead
// lands. It reports false, changing nothing, when the in-flight budget
// cannot hold a body of announced length, or the Cache is closed.
func (c *Cache) startFill(d *decision, resp *http.Response, e *Entry, plan bodyPlan, call *originCall, lead *flightLead) bool {
	f := c.newFill(resp, e, call)
	if f == nil {
		return false
	}
	callers := f.reader(d.req.Context()) // before the fill can end unread
	body, b := resp.Body, d.budget
	started := c.background.goFill(&c.counters, func(closing context.Context) {
		defer context.AfterFunc(closing, func() { call.cancel(errCacheClosed) })()
		defer f.failed(lead) // when the fill panics: reported, its readers told
		c.runFill(call.ctx, b, f, body, e, plan, lead)
	})
	if !started {
		c.inFlight.Add(-f.reserved)
		return false
	}
	call.takeOver()
	resp.Body = callers
	lead.stream(f)
	return true
}

// newFill returns the fill of resp's body, stored as e, sent with call: a
// body of announced length reserved whole, one of unknown length reserved
// as it arrives. It returns nil when the in-flight budget cannot hold the
// announced length.
func (c *Cache) newFill(resp *http.Response, e *Entry, call *originCall) *fill {
	snapshot := *e
	snapshot.Variants, snapshot.Partitions = nil, nil
	f := &fill{size: resp.ContentLength, limit: c.maxBodySize, arrived: make(chan struct{}), demand: make(chan struct{}),
		call: call, entry: &snapshot,
		reserve:  c.reserveInFlight,
		release:  func(n int64) { c.inFlight.Add(-n) },
		cutShort: func() { c.observed.bodiesCut.Add(1) },
	}
	if f.size > 0 {
		if !c.reserveInFlight(f.size) {
			return nil
		}
		f.segs, f.limit, f.reserved = [][]byte{make([]byte, 0, f.size)}, f.size, f.size
	}
	if tag, strong := httpsyntax.StrongETag(e.Header); strong && acceptsByteRanges(e.Header) && !resp.Uncompressed {
		f.resume = func(ctx context.Context, from int64) (io.ReadCloser, error) { return call.resume(ctx, from, tag) }
	}
	return f
}

// runFill reads body into f, then stores it as the entry e, combined as
// plan says, and lands lead; or, when the body was cut short, stores what
// plan allows of the bytes that arrived, and lands lead. Its readers get the
// end of the body once it is stored, so that a caller that read a body to its
// end finds it stored, as with a body teed to the store (tee.go): the store
// waits for the backend at most what is left of b, the budget of the request
// that went to the origin, then goes on by itself. A body that outgrows the
// limits lands lead at once, and goes on for f's readers alone.
func (c *Cache) runFill(ctx context.Context, b *budget, f *fill, body io.ReadCloser, e *Entry, plan bodyPlan, lead *flightLead) {
	err := f.readFrom(body, lead.land) // the requests not yet reading go to the origin
	if err == errFillHandOver {
		c.notStored(policy.RefuseTooLarge)
		f.handOver(body)
		return
	}
	body.Close()
	f.giveBack()                     // the store counts the body from now on
	ctx = context.WithoutCancel(ctx) // the store outlives the origin's request
	var stored *Entry
	readersErr, refused := err, policy.RefuseCutShort
	switch {
	case f.outgrown:
		c.notStored(policy.RefuseTooLarge)
		f.end(err, policy.RefuseTooLarge)
		return
	case err == io.EOF:
		refused = 0
		stored = c.completeEntry(e, &plan, f.body())
	case err == errBodyTooLong:
		readersErr = io.EOF // they have what was announced
	case plan.partial && f.total > 0:
		stored = c.pieceEntry(e, &plan, f.body())
	}
	if refused != 0 {
		c.notStored(refused)
	}
	switch {
	case stored != nil:
		lead.storing()
		c.saveUnlessInvalidated(ctx, b, stored, plan.seen, plan.invalidated, lead.land)
	case err != io.EOF && plan.outdated:
		c.remove(ctx, b, e.Key) // out of date, and nothing to replace it with
		lead.land()
	default:
		lead.land()
	}
	f.end(readersErr, refused)
}

// streamTwin answers req, which waited for a twin whose body fills f, with
// the twin's response, its body read from the fill as it arrives, when that
// response may answer req as a stored one would: req's Vary selection and
// credentials select it (RFC 9111 Section 4.1), and it is fresh enough for
// req (RFC 9111 Section 4.2). It returns nil otherwise, and when the fill
// was cut short before req could begin to read it: the request then waits
// for the store, or goes to the origin itself.
func (c *Cache) streamTwin(req *http.Request, f *fill, d *decision) *http.Response {
	if f.cut() {
		return nil
	}
	e, m := c.selectVariant(f.entry, d.req.Header)
	if e == nil {
		return nil
	}
	if d.freshFor > 0 { // the request's own freshness (Control.FreshFor)
		own := *m
		own.Lifetime = d.freshFor
		m = &own
	}
	now := c.now()
	age := policy.CurrentAge(&m.Facts, e.ResponseTime, now)
	if !policy.Servable(&m.Facts, d.reqCC, age, c.shared) {
		return nil
	}
	served := *d
	served.entry, served.meta, served.entryKey, served.age, served.now = e, m, d.key, age, now
	served.ttl = policy.TTL(m.Lifetime, age)
	served.Verdict = policy.Verdict{Action: policy.Serve}
	served.ranges, served.part = rangeResult{}, partialPlan{}
	resp := c.collapsedHit(req, &served, d.Fwd)
	if resp == nil {
		return nil
	}
	resp.Body, resp.ContentLength = f.reader(req.Context()), f.size
	*d = served
	return resp
}
