package acache

import (
	"context"
	"sync"
)

// Cache applies the storage, freshness and validation rules of RFC 9111 over a
// [Backend]. It owns the limits (entries, bytes, body size) and evicts the least
// recently used entries through Backend.PopOldest when a store goes over them.
//
// A Cache is safe for concurrent use by multiple goroutines, and may serve
// several Transports. The zero value is ready to use, as NewCache(nil): a
// private in-memory cache with the default limits. The read-only methods of
// a nil *Cache return zero values.
type Cache struct {
	// setupOnce runs setup: in NewCache, or at the first use of a zero Cache.
	setupOnce sync.Once
	// addedBelowOnce logs, once, that an auth transport inside the cache
	// keeps responses from being stored, and how to fix it.
	addedBelowOnce sync.Once

	config   // what the options set (options.go), read-only after setup
	counters // what it counts (stats.go)
	deriver  // what it derives from stored responses (derive.go)
	keyer    // the keys of requests (key.go)
	store    // its one door to the Backend (store.go)

	// flights registers the requests in flight to the origin, which
	// requests for the same key wait for (flights.go).
	flights flights
	// invalidations records the invalidations of RFC 9111 Section 4.4,
	// so that no response requested before one is stored after it.
	invalidations invalidations
	// background runs the refreshes of stale-while-revalidate.
	background backgroundWork
	// hitStatus makes the Cache-Status members of hits (hitstatus.go).
	hitStatus hitStatus
}

// NewCache returns a Cache over backend, configured by opts. A nil backend
// means a new LRU ([NewLRU]).
//
// A backend that is a nil pointer (a nil *LRU, or a *diskcache.Store that
// was never opened) cannot store anything: the Cache logs that at Error
// once, and every request then goes to the origin as if there were no
// cache, with the Cache-Status detail "nil backend".
func NewCache(backend Backend, opts ...Option) *Cache {
	c := new(Cache)
	c.setupOnce.Do(func() { c.setup(backend, opts) })
	return c
}

// ready makes a zero Cache one that NewCache(nil) returns, the first time it
// is used; for a Cache that NewCache made, it does nothing.
func (c *Cache) ready() {
	c.setupOnce.Do(func() { c.setup(nil, nil) })
}

// setup configures c over backend with opts, as NewCache describes.
func (c *Cache) setup(backend Backend, opts []Option) {
	if backend == nil {
		backend = newLRU()
	}
	c.config = newConfig(opts)
	c.counters.log = c.logger
	c.deriver.reading = c.derivation
	c.keyer.init(&c.config)
	c.store.init(backend, &c.config, &c.counters, &c.deriver)
	c.hitStatus.prefix = c.hitPrefix
	c.background.slots = make(chan struct{}, maxBackgroundRefreshes)
	c.background.closing, c.background.stop = context.WithCancel(context.Background())
}

// Stats returns a snapshot of the Cache's counters. Each counter is read
// atomically, not all of them at one instant: while requests are served, a
// snapshot may count a request in one counter and not yet in another.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{} // a nil Cache has done nothing
	}
	c.ready()
	return Stats{
		Hits:          c.hits.Load(),
		Collapsed:     c.collapsed.Load(),
		Misses:        c.misses.Load(),
		Revalidations: c.observed.revalidations.Load(),
		NotModified:   c.observed.notModified.Load(),
		StaleServed:   c.observed.staleServed.Load(),
		Stores:        c.stores.Load(),
		Evictions:     c.evictions.Load(),
		Errors:        c.errors.Load(),
		Refusals:      c.refusals.Load(),
		Bytes:         c.usage.stored(),
		Entries:       c.usage.held(),

		RefusalsByReason: c.observed.refusalsByReason(),
		BreakerOpen:      c.breaker != nil && c.breaker.open(),
		BreakerTrips:     c.breaker.tripped(),
		BackendSkips:     c.breaker.skips(),
		Backend:          c.observed.backendStats(),
		InFlightBytes:    c.inFlight.Load(),
		BodiesCut:        c.observed.bodiesCut.Load(),
		StaleHits:        c.observed.staleHits.Load(),
		StaleOnError:     c.observed.staleOnError.Load(),
		Freshened:        c.observed.freshened.Load(),
		Bypasses:         c.observed.bypasses.Load(),
	}
}

// Close stops the Cache's background work, the refreshes of stale
// responses and the sending of hits' recency updates to a backend other
// than the in-memory LRU (those queued are sent first), and waits for it to
// end. The Cache still answers requests afterwards, without refreshing in
// the background, and sends each hit's update at once. Close always returns
// nil; it does nothing on a nil Cache.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	c.ready()
	c.background.mu.Lock()
	c.background.closed = true
	c.background.mu.Unlock()
	c.background.stop()
	c.background.running.Wait()
	c.moves.close()
	return nil
}
