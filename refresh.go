package acache

// This file holds the background refresh of stale-while-revalidate
// (RFC 5861 Section 3): a stale response is served at once, and one request
// per key refreshes it behind the caller's back, bounded in number and
// stopped by Close.

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// refreshInBackground refreshes the stale response d served to req, unless
// the key is being refreshed already, or a request for it is in flight: it
// leads that key's flight (collapse.go), so that requests arriving meanwhile
// wait for it, or are served stale, instead of all refreshing. A key has at
// most one refresh at a time, even after its flight has landed by the
// collapse wait: a refresh that hangs holds one slot, not all of them.
func (t *Transport) refreshInBackground(c *Cache, req *http.Request, d *decision) {
	key := d.key
	if d.now.Sub(d.entry.ResponseTime) < refreshInterval(&d.meta.Facts) {
		return // refreshed a moment ago: an origin whose Age keeps it stale is asked no more often
	}
	if !c.background.claim(key) {
		return
	}
	f, leader := c.flights.join(key, c.collapseWait)
	if !leader {
		c.background.release(key)
		return
	}
	refresh := *d
	refresh.budget = nil // background work: its backend calls keep no caller waiting
	refresh.Verdict = policy.Verdict{Action: policy.Forward, Fwd: policy.FwdStale}
	if d.meta.Validator {
		refresh.Action = policy.Revalidate
	}
	started := c.background.start(&c.counters, req.Context(), func(ctx context.Context) {
		defer c.background.release(key)
		defer c.flights.land(key, f)
		out := refreshRequest(ctx, req)
		refresh.req, refresh.fields = readableRequest(out)
		refresh.ranges, refresh.part = rangeResult{}, partialPlan{}
		if c.refreshedSince(ctx, &refresh) {
			return // another refresh stored it after this request decided
		}
		t.refresh(c, out, &refresh)
	})
	if !started {
		c.flights.land(key, f)
		c.background.release(key)
	}
}

// refreshInterval is how long after a response was stored no background
// refresh of it starts: its freshness lifetime, and at least a second. A
// response is stale within it only when it arrived stale (an Age past its
// max-age, as a CDN may send): refreshing it on every request would ask the
// origin each time for a response that arrives as stale again.
func refreshInterval(m *policy.Facts) time.Duration {
	return max(time.Second, m.Lifetime)
}

// refreshedSince reports whether the response stored for d's request now,
// looked up again, was stored less than its refreshInterval ago: a refresh
// that ended after d was decided stored it, and another is not due.
func (c *Cache) refreshedSince(ctx context.Context, d *decision) bool {
	e, _ := c.lookup(ctx, nil, d.key, nil)
	if e == nil {
		return false
	}
	v, m := c.selectVariant(e, d.req.Header)
	return v != nil && c.now().Sub(v.ResponseTime) < refreshInterval(&m.Facts)
}

// refresh sends the request of a background refresh and stores what comes
// back, as RoundTrip would for a caller that reads the whole body. A refresh
// that fails leaves the stale response stored: it is reported, not retried.
func (t *Transport) refresh(c *Cache, req *http.Request, d *decision) {
	resp, times, err := t.send(c, req, d)
	if err != nil {
		c.report("refresh", d.key, err)
		return
	}
	if d.Action == policy.Revalidate && resp.StatusCode == http.StatusNotModified {
		if _, status, ok := c.revalidated(d, resp.Header, times); ok {
			discardBody(resp)
			c.observed.notModified.Add(1)
			if status.Stored {
				status.Detail = "" // the refresh's own member says no more
			}
			c.refreshed(d, status)
			return
		}
		if resp, times, err = t.resend(c, req, resp); err != nil {
			c.report("refresh", d.key, err)
			return
		}
	}
	if policy.OriginFailed(resp, nil) {
		discardBody(resp) // the stale response stays, for stale-if-error too
		return
	}
	a := c.admit(d, resp, times)
	if a.entry != nil {
		plan, keep := planBody(d, resp, a.entry)
		if keep {
			storeBody(c, req, nil, resp, a.entry, plan, nil)
		} else {
			a.status.Stored, a.status.TTL, a.status.Detail = false, 0, policy.RefusePartOfStored.String()
		}
	}
	c.refreshed(d, a.status)
	io.Copy(io.Discard, io.LimitReader(resp.Body, c.maxBodySize+1)) // to its end: stored
	resp.Body.Close()
}

// waitBackground waits for the background work running now; for tests.
func (c *Cache) waitBackground() {
	c.background.running.Wait()
}
