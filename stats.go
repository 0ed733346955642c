package acache

// This file holds what a Cache counts and reports: Stats, the timing of
// backend calls, and the reporting of failures it recovered from.

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// Stats counts what a Cache has done since it was created. [Cache.Stats]
// returns a copy; its maps belong to the caller.
type Stats struct {
	// Hits counts requests served from the cache without the origin,
	// stale responses served under stale-while-revalidate included: the
	// responses whose Cache-Status member says "hit".
	Hits int64
	// Collapsed counts the requests that waited for a request in flight to
	// the origin for the same response instead of going there too, and were
	// served what it stored: the responses whose Cache-Status member says
	// "collapsed" (RFC 9211 Section 2.6). They are not hits.
	Collapsed int64
	// Misses counts requests forwarded to the origin, or answered with the
	// cache's own 504 (only-if-cached): every request that is neither a hit
	// nor collapsed, so that Hits + Collapsed + Misses counts the requests
	// the Cache answered.
	Misses int64
	// Revalidations counts the conditional requests the Cache sent to the
	// origin to revalidate a stale stored response (RFC 9111 Section
	// 4.3.1), in the background for stale-while-revalidate included. Each
	// is also a miss, unless it ran in the background.
	Revalidations int64
	// NotModified counts the revalidations the origin answered with a 304
	// that freshened the stored response; the others got a full response
	// (or an error).
	NotModified int64
	// StaleServed counts stale responses served: under
	// stale-while-revalidate (also counted as hits) and in place of an
	// origin that failed, under stale-if-error or [WithStaleOnError] (also
	// counted as misses).
	StaleServed int64
	// Stores counts responses stored.
	Stores int64
	// Evictions counts entries removed to stay within the limits.
	Evictions int64
	// Refusals counts responses the Cache did not store, for a reason of
	// the RFC (no-store, a status not cacheable, ...) or of its own (too
	// large, a body it cannot prove complete): the Cache-Status detail of
	// each says which.
	Refusals int64
	// RefusalsByReason splits Refusals by reason, keyed by the detail the
	// Cache-Status field gives ("no-store", "private", "too large", ...;
	// [Cache.Explain] says what each means). It is nil when there was none.
	RefusalsByReason map[string]int64
	// Errors counts failures the Cache recovered from: backend errors,
	// corrupt entries and panics. Each one became a miss or a skipped store.
	Errors int64
	// Backend describes the calls the Cache made to its backend, by
	// operation: "get", "set", "pop", "pop oldest", "len", "size", "move",
	// "commit", "listed", "lease", "renew lease" and "release lease", the
	// names the Cache's log records give them. It is nil over
	// the in-memory LRU ([NewLRU]), which is called directly, cannot fail and is not
	// timed, so that a hit costs nothing more.
	Backend map[string]BackendStats
	// BreakerOpen reports that the circuit breaker in front of the backend
	// is open: after failures or timeouts in a row, the Cache calls the
	// backend no more, and every request goes to the origin at once, until
	// one call probes the backend a second later. BreakerTrips counts how
	// often it opened, and BackendSkips the backend calls it spared: each
	// one a lookup or a store that would have waited for a backend that
	// fails. All three stay zero over the in-memory LRU ([NewLRU]), which cannot
	// fail.
	BreakerOpen  bool
	BreakerTrips int64
	BackendSkips int64
	// Bytes is the size of the entries this Cache stored and has not
	// removed. Over a backend that counts its own bytes ([Sizer]), it is
	// the backend's count when the Cache last stored or counted: it then
	// includes what other processes and earlier runs stored.
	Bytes int64
	// Entries is the number of entries the backend holds: its own count
	// (Len, the Size of a [Sizer], or the Entries a [Committer]'s Commit
	// reports; from a store of n shards, the count of one shard times n)
	// when the Cache last stored or counted, plus the entries this Cache
	// stored and minus those it removed since. It thus includes what other
	// processes and earlier runs stored, as of that count, and it is never
	// negative. Over a Backend that is not a Committer, the index of a
	// URI's partitions is an entry of its own, and counts as one.
	Entries int64
	// InFlightBytes is what the copies of response bodies being read hold,
	// to be stored at their end. Together they stay within the byte limit.
	InFlightBytes int64
	// StaleHits counts the hits that served a stale response
	// (stale-while-revalidate, max-stale, [ModeForceCache]): part of Hits
	// and of StaleServed.
	StaleHits int64
	// StaleOnError counts the stale responses served in place of an origin
	// that failed (stale-if-error, [WithStaleOnError]): part of Misses and
	// of StaleServed.
	StaleOnError int64
	// Freshened counts the requests answered with the stored response
	// after the origin confirmed it with a 304 to the Cache's conditional
	// request, while they waited (RFC 9111 Section 4.3.4): part of Misses
	// and of NotModified.
	Freshened int64
	// Bypasses counts the requests the Cache neither served nor stored
	// into, sent to the origin as if there were no cache (Cache-Status
	// fwd=bypass, or fwd=request for the request's own directives and
	// modes): part of Misses.
	Bypasses int64
	// BodiesCut counts the response bodies the Cache cut short itself: a
	// request collapsed onto a body that outgrew WithMaxBodySize or the
	// in-flight budget while it arrived, left behind the others, which
	// could not resume from the origin with a Range (no strong entity-tag
	// or no "Accept-Ranges: bytes", or the origin refused). It is the one
	// case in which a request fails because of the Cache.
	BodiesCut int64
}

// Outcomes splits the requests the Cache answered into exclusive outcomes,
// which sum to Hits + Collapsed + Misses: "hit" (served fresh from the
// cache), "stale" (served stale: StaleHits and StaleOnError),
// "revalidated" (Freshened), "collapsed", "bypass" (Bypasses) and "miss"
// (every other request that went to the origin, or got the Cache's 504).
// The counters are read one at a time: while requests are served, the
// split may be off by the requests in between.
func (s Stats) Outcomes() map[string]int64 {
	return map[string]int64{
		"hit":         s.Hits - s.StaleHits,
		"stale":       s.StaleHits + s.StaleOnError,
		"revalidated": s.Freshened,
		"collapsed":   s.Collapsed,
		"bypass":      s.Bypasses,
		"miss":        s.Misses - s.StaleOnError - s.Freshened - s.Bypasses,
	}
}

// BackendStats describes the calls a Cache made to one operation of its
// backend.
type BackendStats struct {
	// Calls counts the calls that returned, in time or not.
	Calls int64
	// Errors counts the calls that failed: an error, no answer within the
	// backend timeout ([WithBackendTimeout]), or an entry that failed
	// validation.
	Errors int64
	// Total is the time the calls took, together; Total/Calls is their
	// mean latency.
	Total time.Duration
	// Max is the time the slowest call took.
	Max time.Duration
}

// counters are what a Cache counts (see Stats), and where it reports the
// failures it recovered from.
type counters struct {
	log *slog.Logger // where failures are reported, at Warn
	// hits is added to by every hit, from every core at once: it is striped.
	hits                                                   stripedCounter
	misses, stores, evictions, errors, refusals, collapsed atomic.Int64
	// observed holds the counters of Stats beyond these.
	observed observations
}

// stripedCounter is a counter that goroutines on many cores add to at once
// without all writing one cache line: each add goes to one of 16 stripes,
// and Load sums them. A hit adds to the stripe of its key's LRU shard, so
// that hits of different keys share no cache line that they write (the
// LRU's shards being the other half). The zero value is ready to use.
type stripedCounter struct {
	stripes [16]struct {
		n atomic.Int64
		_ [56]byte // a stripe per cache line
	}
}

// add adds n to the counter, in the stripe picked by stripe (any number;
// adds with different ones seldom contend).
func (s *stripedCounter) add(stripe uint, n int64) {
	s.stripes[stripe%uint(len(s.stripes))].n.Add(n)
}

// Load returns the counter's value: the sum of the stripes, which is exact
// once the Adds it should include have returned.
func (s *stripedCounter) Load() int64 {
	var sum int64
	for i := range s.stripes {
		sum += s.stripes[i].n.Load()
	}
	return sum
}

// observations are the counters of a Cache beyond the hot ones it keeps
// beside its other fields: those of revalidation and stale responses, of
// refusals by reason, and of the backend's calls. None is written on the
// path of a fresh hit. The zero value is ready to use.
type observations struct {
	revalidations, notModified, staleServed atomic.Int64
	// bodiesCut counts the bodies the Cache cut short itself (fill.go).
	bodiesCut atomic.Int64
	// staleHits, staleOnError, freshened and bypasses split the hits and
	// misses into the outcomes of Stats.Outcomes.
	staleHits, staleOnError, freshened, bypasses atomic.Int64

	// refusals counts the responses not stored, by the first reason.
	refusals [policy.ReasonCount]atomic.Int64

	backend [len(backendOps)]backendCounters
}

// backendOps are the backend operations whose calls a Cache times and
// counts, by the names its log records and reports give them.
var backendOps = [...]string{"get", "set", "pop", "pop oldest", "len", "size", "move", "commit", "listed",
	"lease", "renew lease", "release lease"}

// backendCounters count the calls to one backend operation; times are in
// nanoseconds.
type backendCounters struct {
	calls, errors, total, max atomic.Int64
}

// backendOp returns the index of op in backendOps, or -1.
func backendOp(op string) int {
	for i, name := range backendOps {
		if name == op {
			return i
		}
	}
	return -1
}

// refusalsByReason returns the refusals by the detail of their reason, or
// nil when there are none.
func (o *observations) refusalsByReason() map[string]int64 {
	var by map[string]int64
	for r := range o.refusals {
		if n := o.refusals[r].Load(); n > 0 {
			if by == nil {
				by = make(map[string]int64)
			}
			by[policy.Reason(r).String()] = n
		}
	}
	return by
}

// called records one call to the backend operation op that took d.
func (o *observations) called(op string, d time.Duration) {
	i := backendOp(op)
	if i < 0 {
		return
	}
	b := &o.backend[i]
	b.calls.Add(1)
	b.total.Add(int64(d))
	for {
		longest := b.max.Load()
		if int64(d) <= longest || b.max.CompareAndSwap(longest, int64(d)) {
			return
		}
	}
}

// backendStats returns the backend counters by operation, leaving out the
// operations never called nor failed, or nil when there are none.
func (o *observations) backendStats() map[string]BackendStats {
	var out map[string]BackendStats
	for i, op := range backendOps {
		b := &o.backend[i]
		s := BackendStats{
			Calls:  b.calls.Load(),
			Errors: b.errors.Load(),
			Total:  time.Duration(b.total.Load()),
			Max:    time.Duration(b.max.Load()),
		}
		if s.Calls == 0 && s.Errors == 0 {
			continue
		}
		if out == nil {
			out = make(map[string]BackendStats)
		}
		out[op] = s
	}
	return out
}

// report counts a failure the Cache recovered from and logs it. A failure
// of a backend operation (op one of backendOps) is also counted against it.
func (c *counters) report(op, key string, err error) {
	c.errors.Add(1)
	if i := backendOp(op); i >= 0 {
		c.observed.backend[i].errors.Add(1)
	}
	c.log.Warn("acache: cache failure, using the origin", "op", op, "key", key, "err", err)
}

// recovered turns a panic in cache code into a reported failure of op and
// sets *failed, so that the caller can fall back to the origin. Defer it:
// `defer c.recovered("store", &failed)`.
func (c *counters) recovered(op string, failed *bool) {
	if r := recover(); r != nil {
		c.report(op, "", fmt.Errorf("panic: %v", r))
		*failed = true
	}
}

// miss counts a request that went to the origin.
func (c *counters) miss() { c.misses.Add(1) }

// notStored counts a response the Cache did not store, and why. The
// decision's Debug record (events.go) carries the reason as its detail.
func (c *counters) notStored(why policy.Refusal) {
	c.refusals.Add(1)
	c.observed.refusals[why.Reason()].Add(1)
}
