package acache

// This file holds collapsed forwarding: while a request for a key is in
// flight to the origin, further requests for the same key wait for it to be
// stored, and are then answered from the cache, instead of all going to the
// origin (the idea acachecontrol was written for; RFC 9211 Section 2.6 names
// it "collapsed").

import (
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// collapsible reports whether a request the cache sends to the origin may
// wait for a twin in flight, and be answered from what it stores: a GET whose
// verdict is to forward or revalidate, that asks nothing a stored response
// cannot give (no-store, no-cache, a Range) and carries no validators of its
// own.
func collapsible(d *decision) bool {
	return (d.Action == policy.Forward || d.Action == policy.Revalidate) && !d.bypass &&
		d.req.Method == http.MethodGet && !d.reqCC.NoStore && !d.reqCC.NoCache &&
		!d.fields.rangeRequest && !d.fields.conditionals
}

// awaitTwin waits for the flight f that another request for the same key
// leads, then looks req up again. It returns the response to serve from the
// cache, or nil when the caller must go to the origin itself (the twin's
// response was not stored, does not fit this request, or did not land in
// time), with the fresh decision for that. err is the caller's context
// error if it ended first.
//
// Once the twin's response has arrived and its store has begun, the wait is
// a wait for the backend: it takes at most what is left of the request's
// budget, after which the store may still be under way, and the request
// goes to the origin rather than wait for a backend that does not answer.
func (t *Transport) awaitTwin(c *Cache, req *http.Request, f *flight, d decision) (*http.Response, decision, error) {
	ctx := req.Context()
	select {
	case <-f.done:
	case <-f.storing:
		start := time.Now()
		timer := time.NewTimer(d.budget.wait(c.backendTimeout))
		select {
		case <-f.done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		d.budget.spend(time.Since(start))
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil {
		return nil, d, err
	}
	again := c.decideWithin(req, d.budget)
	if again.Action != policy.Serve && again.Action != policy.ServeStale {
		return nil, again, nil
	}
	// What the twin stored may be stale already (it arrived so, within its
	// stale-while-revalidate window): it is served as it was to the twin,
	// not fetched once more.
	if resp := c.collapsedHit(req, &again, d.Fwd); resp != nil {
		return resp, again, nil
	}
	return nil, bypassing(again.req, FwdBypass, "cache error"), nil
}
