package acache

// This file holds the events of a Cache: one Debug record of its logger
// ([WithLogger]) for each decision it makes, with attributes whose names
// are stable. Nothing is built unless the logger is enabled for Debug.

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// eventMessage is the message of every decision record.
const eventMessage = "acache: decision"

// The values of a decision record's "action" attribute.
const (
	eventHit        = "hit"        // served from the cache (collapsed included)
	eventStale      = "stale"      // a stale response served: stale-while-revalidate, stale-if-error
	eventRevalidate = "revalidate" // a conditional request sent for a stored response
	eventForward    = "forward"    // sent to the origin: nothing stored answers it
	eventBypass     = "bypass"     // sent to the origin as if there were no cache
	eventGateway    = "504"        // answered with the cache's own 504
)

// sentAction is the action of a request that went to the origin with
// decision d.
func sentAction(d *decision) string {
	switch {
	case d.bypass:
		return eventBypass
	case d.Action == policy.Revalidate:
		return eventRevalidate
	}
	return eventForward
}

// debugEnabled reports whether the Cache's logger records Debug for ctx:
// with the default discard logger, a call and a false.
func (c *Cache) debugEnabled(ctx context.Context) bool {
	return !c.silent && c.logger.Enabled(ctx, slog.LevelDebug)
}

// decided logs, at Debug, what the Cache did with d's request, and returns
// resp, the response the caller gets: action (hit, stale, revalidate,
// forward, bypass or 504) and what resp's Cache-Status member says. A hit
// on a response served stale (stale-while-revalidate) is logged as stale.
func (c *Cache) decided(action string, d *decision, resp *http.Response) *http.Response {
	if resp == nil || d.req == nil || !c.debugEnabled(d.req.Context()) {
		return resp
	}
	if action == eventHit && d.Action == policy.ServeStale {
		action = eventStale
	}
	s, _ := parseCacheStatus(resp.Header["Cache-Status"])
	c.logDecision(d, decisionEvent{
		action: action,
		status: resp.StatusCode,
		cs:     s,
		age:    policy.Seconds(policy.AgeValue(resp.Header)),
	})
	return resp
}

// decidedError logs, at Debug, a request with decision d whose exchange with
// the origin failed with err, and returns err.
func (c *Cache) decidedError(d *decision, err error) error {
	if d.req == nil || !c.debugEnabled(d.req.Context()) {
		return err
	}
	c.logDecision(d, decisionEvent{
		action: sentAction(d),
		cs:     CacheStatus{Cache: c.name, Fwd: d.Fwd, Detail: d.Reason.String()},
		err:    err,
	})
	return err
}

// refreshed logs, at Debug, what a background refresh (stale-while-
// revalidate) with decision d made of the origin's answer: s is the
// Cache-Status member it would have had.
func (c *Cache) refreshed(d *decision, s CacheStatus) {
	if d.req == nil || !c.debugEnabled(d.req.Context()) {
		return
	}
	c.logDecision(d, decisionEvent{
		action:     sentAction(d),
		status:     s.FwdStatus,
		cs:         s,
		background: true,
	})
}

// decisionEvent is what one decision record says beyond the request.
type decisionEvent struct {
	action     string
	status     int         // of the response the caller got, or 0
	cs         CacheStatus // the Cache's Cache-Status member
	age        time.Duration
	background bool
	err        error
}

// logDecision writes the Debug record of one decision. Its attribute names
// are stable: the README lists them. The URL is logged without its
// password; no request or response field is logged, so neither
// Authorization nor Cookie values appear, nor the partition value.
func (c *Cache) logDecision(d *decision, ev decisionEvent) {
	req := d.req
	_, partitioned := splitPartition(d.key)
	url := ""
	if req.URL != nil {
		url = req.URL.Redacted()
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("url", url),
		slog.String("key", d.key),
		slog.Bool("key_partitioned", partitioned),
		slog.String("action", ev.action),
		slog.Int("status", ev.status),
		slog.String("fwd", ev.cs.Fwd),
		slog.Int("fwd_status", ev.cs.FwdStatus),
		slog.Bool("stored", ev.cs.Stored),
		slog.Bool("collapsed", ev.cs.Collapsed),
		slog.String("detail", ev.cs.Detail),
		slog.Int64("ttl_s", int64(ev.cs.TTL/time.Second)),
		slog.Int64("age_s", int64(ev.age/time.Second)),
		slog.Bool("background", ev.background),
	}
	if ev.err != nil {
		attrs = append(attrs, slog.String("err", ev.err.Error()))
	}
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, eventMessage, attrs...)
}
