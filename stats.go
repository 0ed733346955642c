package acache

// This file holds what a Cache counts and reports: Stats, and the
// reporting of failures it recovered from.

import "fmt"

// Stats counts what a Cache has done since it was created.
type Stats struct {
	// Hits counts requests served from the cache without the origin.
	Hits int64
	// Collapsed counts the hits that waited for a request in flight to the
	// origin for the same response instead of going there too.
	Collapsed int64
	// Misses counts requests forwarded to the origin.
	Misses int64
	// Stores counts responses stored.
	Stores int64
	// Evictions counts entries removed to stay within the limits.
	Evictions int64
	// Refusals counts responses the Cache did not store, for a reason of
	// the RFC (no-store, a status not cacheable, ...) or of its own (too
	// large, a body it cannot prove complete): the Cache-Status detail of
	// each says which.
	Refusals int64
	// Errors counts failures the Cache recovered from: backend errors,
	// corrupt entries and panics. Each one became a miss or a skipped store.
	Errors int64
	// Bytes is the size of the entries this Cache stored and has not
	// removed. Over a backend that counts its own bytes ([Sizer]), it is
	// the backend's count when the Cache last stored: it then includes
	// what other processes and earlier runs stored.
	Bytes int64
	// InFlightBytes is what the copies of response bodies being read hold,
	// to be stored at their end. Together they stay within the byte limit.
	InFlightBytes int64
}

// Stats returns the Cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:      c.hits.Load(),
		Collapsed: c.collapsed.Load(),
		Misses:    c.misses.Load(),
		Stores:    c.stores.Load(),
		Evictions: c.evictions.Load(),
		Errors:    c.errors.Load(),
		Refusals:  c.refusals.Load(),
		Bytes:     c.usage.stored(),

		InFlightBytes: c.inFlight.Load(),
	}
}

// report counts a failure the Cache recovered from and logs it.
func (c *Cache) report(op, key string, err error) {
	c.errors.Add(1)
	c.logger.Warn("acache: cache failure, using the origin", "op", op, "key", key, "err", err)
}

// recovered turns a panic in cache code into a reported failure of op and
// sets *failed, so that the caller can fall back to the origin. Defer it:
// `defer c.recovered("store", &failed)`.
func (c *Cache) recovered(op string, failed *bool) {
	if r := recover(); r != nil {
		c.report(op, "", fmt.Errorf("panic: %v", r))
		*failed = true
	}
}

// miss counts a request that went to the origin.
func (c *Cache) miss() { c.misses.Add(1) }

// notStored counts and logs, at Debug, a response the Cache did not store,
// and why.
func (c *Cache) notStored(key, reason string) {
	c.refusals.Add(1)
	c.logger.Debug("acache: response not stored", "key", key, "reason", reason)
}
