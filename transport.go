package acache

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// Transport is an [http.RoundTripper] that answers requests from a [Cache]
// when it can and forwards them to an inner RoundTripper when it cannot,
// storing what the origin sends back as RFC 9111 allows.
//
// The zero value is ready to use: a private in-memory cache with the default
// limits around [http.DefaultTransport]. A Transport is safe for concurrent use
// by multiple goroutines; its fields must not change once it is in use.
type Transport struct {
	// Transport is the RoundTripper that requests the cache cannot answer go
	// to. If nil, http.DefaultTransport is used.
	Transport http.RoundTripper

	// Cache holds the stored responses. If nil, the Transport uses a
	// Cache of its own, NewCache(nil), made at its first request; the field
	// stays nil. To read that Cache's Stats, make the Transport with
	// NewTransport, which sets the field.
	Cache *Cache

	// own is the Cache the Transport made for itself when Cache is nil.
	own atomic.Pointer[Cache]
}

// NewTransport returns a Transport around http.DefaultTransport that stores
// responses in c; a nil c means NewCache(nil), a private in-memory cache with
// the default limits.
func NewTransport(c *Cache) *Transport {
	if c == nil {
		c = NewCache(nil)
	}
	return &Transport{Cache: c}
}

// Close stops the background work of the Transport's Cache (the refreshes
// of stale-while-revalidate) and waits for it, then closes the idle
// connections of the inner transport. The Cache is closed for every
// Transport that shares it. Close always returns nil.
func (t *Transport) Close() error {
	t.cache().Close()
	t.CloseIdleConnections()
	return nil
}

// CloseIdleConnections closes the idle connections of the inner transport, if
// it has such a method, so that [http.Client.CloseIdleConnections] reaches it.
func (t *Transport) CloseIdleConnections() {
	if closer, ok := t.transport().(interface{ CloseIdleConnections() }); ok {
		closer.CloseIdleConnections()
	}
}

// cache returns the Cache t uses: its Cache field, ready (a zero Cache is
// one of NewCache(nil)), or, when that is nil, one of its own.
func (t *Transport) cache() *Cache {
	if c := t.Cache; c != nil {
		c.ready()
		return c
	}
	if c := t.own.Load(); c != nil {
		return c
	}
	t.own.CompareAndSwap(nil, NewCache(nil)) // a Cache that loses starts nothing
	return t.own.Load()
}

func (t *Transport) transport() http.RoundTripper {
	if t.Transport != nil {
		return t.Transport
	}
	return http.DefaultTransport
}

// RoundTrip implements [http.RoundTripper]. It serves a stored response when
// one is fresh enough for req, revalidates a stale one with a conditional
// request, and otherwise forwards req unchanged. Whatever happens to the
// cache, the caller gets the origin's response: cache failures are reported
// through the Cache's logger and counters, never returned.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.cache()
	d := c.decide(req)
	if err := req.Context().Err(); err != nil {
		// What net/http answers a request whose context is done; the cache
		// must not answer it with a response instead.
		closeRequestBody(req)
		return nil, context.Cause(req.Context())
	}
	if d.mode == ModeOnlyIfCached && d.Action != policy.Serve && d.Action != policy.ServeStale {
		closeRequestBody(req)
		return nil, ErrNotCached
	}
	if d.Action == policy.Serve || d.Action == policy.ServeStale {
		if resp := c.hit(req, &d); resp != nil {
			if d.Action == policy.ServeStale || d.stale() {
				c.observed.staleServed.Add(1)
				c.observed.staleHits.Add(1)
			}
			if d.Action == policy.ServeStale {
				t.refreshInBackground(c, req, &d)
			}
			closeRequestBody(req)
			return resp, nil
		}
		d = bypassing(d.req, policy.FwdBypass, policy.ReasonCacheError)
	}
	resp, lead, err := t.collapse(c, req, &d)
	if resp != nil || err != nil {
		closeRequestBody(req)
		return resp, err
	}
	return t.exchange(c, req, &d, lead)
}

// exchange sends req to the origin, or answers it with the cache's own 504,
// and makes what comes back the caller's response: a stale one where
// stale-if-error allows it, the stored one freshened by a 304, or the
// origin's, stored once its body has arrived whole. lead, when not nil,
// leads the flight of the requests waiting for this one: they read the body
// as the Cache fills it, and the flight lands once the response is stored or
// will not be.
func (t *Transport) exchange(c *Cache, req *http.Request, d *decision, lead *flightLead) (*http.Response, error) {
	bodyLands := false // the body lands the flight once its store is done
	defer func() {
		if !bodyLands {
			lead.land()
		}
	}()
	c.miss()
	if d.bypass {
		c.observed.bypasses.Add(1)
	}
	if d.Action == policy.GatewayTimeout {
		closeRequestBody(req)
		return c.decided(eventGateway, d, gatewayTimeoutResponse(c, req, detail(d.Reason, nil))), nil
	}
	resp, times, err := t.sendLeading(c, req, d, lead)
	if stale := c.staleOnError(req, d, resp, err); stale != nil {
		c.observed.staleServed.Add(1)
		c.observed.staleOnError.Add(1)
		return c.decided(eventStale, d, stale), nil
	}
	if err != nil {
		if d.Action == policy.Revalidate && d.meta.CC.MustRevalidate {
			// RFC 9111 Section 5.2.2.2: never the stale response; an error
			// response instead.
			return c.decided(eventGateway, d, gatewayTimeoutResponse(c, req, detail(policy.ReasonMustRevalidate, err))), nil
		}
		return nil, c.decidedError(d, err)
	}
	if d.Action == policy.Revalidate && resp.StatusCode == http.StatusNotModified {
		if fresh, status, ok := c.revalidated(d, resp.Header, times); ok {
			// The caller gets the stored response, or a 304 when its own
			// validators select it (RFC 9111 Section 4.3.2).
			discardBody(resp)
			c.observed.notModified.Add(1)
			c.observed.freshened.Add(1)
			return c.decided(eventRevalidate, &fresh, entryResponse(c, req, &fresh, status.String(), true)), nil
		}
		if !d.fields.conditionals { // else the 304 is for one of the caller's own tags: its answer
			if resp, times, err = t.resend(c, req, resp); err != nil {
				return nil, err
			}
		}
	}
	bodyLands = t.keep(c, req, d, resp, times, lead)
	return c.decided(sentAction(d), d, resp), nil
}

// sendLeading is sendFilling for a request that leads a flight (lead not
// nil): it is sent with the context of an originCall, so that the body's
// fill may outlive the caller (fill.go). Until a fill takes the body, the
// caller's cancellation ends the call, and closing the body does.
func (t *Transport) sendLeading(c *Cache, req *http.Request, d *decision, lead *flightLead) (*http.Response, exchangeTimes, error) {
	if lead == nil {
		return t.sendFilling(c, req, d)
	}
	out, call := detachedRequest(req, t.transport())
	resp, times, err := t.sendFilling(c, out, d)
	switch {
	case err != nil:
		call.end()
		if cause := context.Cause(req.Context()); cause != nil && errors.Is(err, context.Canceled) {
			err = cause // the caller's own, as net/http would report it
		}
		return nil, times, err
	case resp.Body == http.NoBody:
		call.end()
	case resp.StatusCode == http.StatusSwitchingProtocols:
		// The body is the connection, writable: it stays the caller's,
		// and the caller's cancellation still ends the call.
	default:
		resp.Body = &callBody{ReadCloser: resp.Body, call: call}
		lead.call = call
	}
	if resp.Request == out {
		resp.Request = req
	}
	return resp, times, nil
}

// sendFilling sends req to the origin as send does and, when d asks for the
// part a stored response lacks, checks that the answer is that part. A 200
// is the whole current representation (If-Range found the stored part out
// of date): the caller gets it, and it replaces the stored part. An error
// is the origin's answer to the caller too. Anything else answers the
// cache's request, not the caller's: it asks again with the caller's.
func (t *Transport) sendFilling(c *Cache, req *http.Request, d *decision) (*http.Response, exchangeTimes, error) {
	resp, times, err := t.send(c, req, d)
	if d.part.kind != partialFill || err != nil || fillsGap(&d.part, d.entry.Header, resp) {
		return resp, times, err
	}
	d.part.kind = partialNone
	if resp.StatusCode != http.StatusOK && !policy.OriginFailed(resp, nil) {
		discardBody(resp)
		return t.send(c, req, d)
	}
	return resp, times, nil
}

// keep makes resp, the origin's answer to req, the caller's response: its
// Cache-Status member, its body teed to the store when the Cache keeps it
// (admit), after the stored bytes when it completes a stored part. It
// reports whether the body lands lead's flight.
func (t *Transport) keep(c *Cache, req *http.Request, d *decision, resp *http.Response, times exchangeTimes, lead *flightLead) (bodyLands bool) {
	a := c.admit(d, resp, times)
	var plan bodyPlan
	if a.entry != nil {
		var keep bool
		if plan, keep = planBody(d, resp, a.entry); !keep {
			a.entry, a.status.Stored, a.status.TTL, a.status.Detail = nil, false, 0, policy.RefusePartOfStored.String()
			c.notStored(policy.RefusePartOfStored)
		}
	}
	addCacheStatus(resp.Header, a.status.String())
	if a.entry != nil {
		bodyLands = true
		if !lead.fill(c, d, resp, a.entry, plan) {
			storeBody(c, req, d.budget, resp, a.entry, plan, lead)
		}
	}
	if d.part.kind == partialFill {
		// The stored bytes, then the origin's part as it arrives (teed
		// above): the caller's range, or the whole representation.
		combinedResponse(d, resp)
	}
	return bodyLands
}

// collapse lets a request that goes to the origin wait for a twin already
// in flight there (collapse.go). It returns the response from the cache once
// the twin's is stored, or the caller's context error; otherwise the request
// goes to the origin with *d decided again, and lead is the flight its own
// exchange lands when it is done, to release the requests that wait for it
// (nil when none may).
func (t *Transport) collapse(c *Cache, req *http.Request, d *decision) (resp *http.Response, lead *flightLead, err error) {
	if !collapsible(d) {
		return nil, nil, nil
	}
	f, leader := c.flights.join(d.key, c.collapseWait)
	if !leader {
		resp, *d, err = t.awaitTwin(c, req, f, *d)
		return resp, nil, err
	}
	lead = &flightLead{fs: &c.flights, key: d.key, f: f}
	if c.flights.landedSince(d.key, d.landings) {
		// A twin landed between this request's lookup and its flight: what
		// the twin stored (in this process, so that every request here for
		// one URL makes one origin call) was not there to find.
		if resp, *d = t.lookAgain(c, req, *d); resp != nil {
			lead.land() // whoever joined finds it too
			return resp, nil, nil
		}
	}
	if resp, err = t.collapseFleet(c, req, d, lead); resp != nil || err != nil {
		lead.land() // whoever joined looks again too
		return resp, nil, err
	}
	return nil, lead, nil
}

// collapseFleet lets the request that leads this Cache's flight for a key
// collapse with the Caches of other processes, over a backend that is a
// Leaser (storelease.go), when the key has nothing stored under it or an
// entry to revalidate: it takes the key's lease and goes to the origin for
// the fleet, or waits, at most the collapse wait, for the Cache that holds
// it, then looks the key up again. It returns the response to serve, or nil
// when the request goes to the origin, holding the lease in lead when it
// took it; err is the caller's context error.
func (t *Transport) collapseFleet(c *Cache, req *http.Request, d *decision, lead *flightLead) (*http.Response, error) {
	if c.leaser == nil {
		return nil, nil
	}
	ctx := req.Context()
	deadline := time.Now().Add(c.collapseWait)
	for range 2 { // a lease whose holder left is taken again once
		stale, ok := fleetCollapsible(d)
		if !ok {
			break
		}
		hold, stored, ok := c.takeLease(ctx, d.budget, d.key, stale)
		switch {
		case !ok:
			return nil, nil
		case hold != nil:
			d.seen.lease, lead.lease = hold, hold
			lead.extend(c.collapseWait)
			return nil, nil
		case stored == nil:
			again, err := c.awaitLease(ctx, d.key, time.Until(deadline))
			if err != nil || !again {
				lead.extend(c.collapseWait)
				return nil, err
			}
		}
		resp, again := t.lookAgain(c, req, *d)
		if resp != nil {
			return resp, nil
		}
		*d = again
	}
	lead.extend(c.collapseWait)
	return nil, nil
}

// fleetCollapsible reports whether d's request, which leads this Cache's
// flight for its key, may take the key's lease or wait for it: it goes to
// the origin for its key (not a HEAD served from the GET response's entry),
// and its lookup answered, finding nothing (stale 0), or the entry it
// revalidates, of version stale.
func fleetCollapsible(d *decision) (stale uint64, ok bool) {
	if d.seen.key != d.key || d.seen.failed || !collapsible(d) {
		return 0, false
	}
	switch {
	case d.Action == policy.Forward && d.seen.entry == nil:
		return 0, true
	case d.Action == policy.Revalidate && d.seen.entry != nil && d.entryKey == d.key && d.seen.entry.Version != 0:
		return d.seen.entry.Version, true
	}
	return 0, false
}

// exchangeTimes are the request_time and response_time of one exchange with
// the origin (RFC 9111 Section 4.2.3).
type exchangeTimes struct {
	request, response time.Time
}

// send sends req to the origin through the inner transport: as it is, or
// for a revalidation a copy with the stored response's validators. The
// response is the caller's to have, with a header and a body that are never
// nil, and with the caller's request in resp.Request.
func (t *Transport) send(c *Cache, req *http.Request, d *decision) (*http.Response, exchangeTimes, error) {
	out := req
	switch {
	case d.Action == policy.Revalidate && d.fields.conditionals:
		out = unionConditionalRequest(req, d.entry.Header) // the caller's tags and the cache's
		c.observed.revalidations.Add(1)
	case d.Action == policy.Revalidate:
		out = conditionalRequest(req, d.entry.Header, d.now)
		c.observed.revalidations.Add(1)
	case d.part.kind == partialFill:
		out = fillRequest(req, &d.part) // only what the stored response lacks
	}
	out = modeFields(out, req, d.mode)
	var times exchangeTimes
	times.request = c.now()
	resp, err := t.transport().RoundTrip(out)
	if err != nil {
		return nil, times, err
	}
	times.response = c.now()
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if resp.Request == out && out != req {
		resp.Request = req // the caller's request, not the cache's clone
	}
	return resp, times, nil
}

// resend asks the origin again, without validators, after a 304 that does
// not select the stored response (RFC 9111 Section 4.3.4): that 304 is not
// an answer for the caller.
func (t *Transport) resend(c *Cache, req *http.Request, resp304 *http.Response) (*http.Response, exchangeTimes, error) {
	discardBody(resp304)
	out, err := resendRequest(req)
	if err != nil {
		return nil, exchangeTimes{}, err
	}
	resp, times, err := t.send(c, out, &decision{Verdict: policy.Verdict{Action: policy.Forward}})
	if err == nil && resp.Request == out {
		resp.Request = req // the caller's request, not the copy with a new body
	}
	return resp, times, err
}

// awaitTwin waits for the flight f that another request for the same key
// leads, then looks req up again. It returns the response to serve from the
// cache, or nil when the caller must go to the origin itself (the twin's
// response was not stored, does not fit this request, or did not land in
// time), with the fresh decision for that. err is the caller's context
// error if it ended first.
//
// When the twin's body is filled by the Cache (fill.go), the request reads
// it as it arrives, if the twin's response is one it may be served
// (streamTwin); otherwise it waits for the store. Once the twin's response
// has arrived and its store has begun, the wait is a wait for the backend:
// it takes at most what is left of the request's budget, after which the
// store may still be under way, and the request goes to the origin rather
// than wait for a backend that does not answer.
func (t *Transport) awaitTwin(c *Cache, req *http.Request, f *flight, d decision) (*http.Response, decision, error) {
	ctx := req.Context()
	select {
	case <-f.streaming:
		if resp := c.streamTwin(req, f.fill, &d); resp != nil {
			return resp, d, nil
		}
		awaitLanding(ctx, f, &d, c.backendTimeout) // the twin's body is not for this request
	case <-f.storing:
		awaitLanding(ctx, f, &d, c.backendTimeout)
	case <-f.done:
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil {
		return nil, d, err
	}
	resp, again := t.lookAgain(c, req, d)
	return resp, again, nil
}

// awaitLanding waits for f to land, or for ctx to end; once the response
// has arrived and its store has begun, it waits at most what is left of
// d's budget (and limit), which it spends.
func awaitLanding(ctx context.Context, f *flight, d *decision, limit time.Duration) {
	select {
	case <-f.storing:
	case <-f.done:
		return
	case <-ctx.Done():
		return
	}
	start := time.Now()
	timer := time.NewTimer(d.budget.wait(limit))
	select {
	case <-f.done:
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	d.budget.spend(time.Since(start))
}

// lookAgain looks req up again, once a twin's flight has landed: it returns
// the response to serve from the cache as a collapsed request, or nil when
// the caller must go to the origin itself, with the fresh decision for that.
func (t *Transport) lookAgain(c *Cache, req *http.Request, d decision) (*http.Response, decision) {
	again := c.decideWithin(req, d.budget)
	if again.Action != policy.Serve && again.Action != policy.ServeStale {
		return nil, again
	}
	// What the twin stored may be stale already (it arrived so, within its
	// stale-while-revalidate window): it is served as it was to the twin,
	// not fetched once more.
	if resp := c.collapsedHit(req, &again, d.Fwd); resp != nil {
		return resp, again
	}
	return nil, bypassing(again.req, policy.FwdBypass, policy.ReasonCacheError)
}
