package acache

// This file holds collapsed forwarding: while a request for a key is in
// flight to the origin, further requests for the same key wait for it to be
// stored, and are then answered from the cache, instead of all going to the
// origin (the idea acachecontrol was written for; RFC 9211 Section 2.6 names
// it "collapsed").

import (
	"hash/maphash"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// flights registers the requests in flight to the origin, by cache key. The
// zero value is ready to use.
type flights struct {
	// mu guards byKey.
	mu    sync.Mutex
	byKey map[string]*flight

	// landings counts the flights landed. recent holds, for each slot of
	// keys (by a hash of the key), the count at the latest landing of a
	// flight for a key in it; both are written under mu, before the flight
	// is unregistered. A request that looked its key up before a twin's
	// store ended finds nothing stored and, once that flight is gone, would
	// lead a second one: landedSince tells it to look again first.
	landings atomic.Uint64
	recent   [64]atomic.Uint64
}

// flight is one request in flight, which the requests for the same key wait
// for. It lands once: when the response is stored, when it turns out not to
// be (not storable, failed, cut short, closed early), or when the wait bound
// passes, whichever comes first. Nothing stays registered after it lands.
type flight struct {
	done  chan struct{} // closed when it lands
	once  sync.Once
	timer *time.Timer // set under flights.mu
	// storing is closed when the response has arrived whole and its store
	// has begun: the waiters then wait for a backend, within their budget.
	storing     chan struct{}
	storingOnce sync.Once
	// streaming is closed when the response's body has begun to fill
	// (fill.go), with fill set: the waiters may read it as it arrives.
	streaming chan struct{}
	fill      *fill
}

// flightLead is what the request that leads a flight holds to end it; nil
// for a request that leads none. Its methods do nothing on nil.
type flightLead struct {
	fs  *flights
	key string
	f   *flight
	// lease is the fleet's lease on key that the request holds, if any
	// (storelease.go), ended when the flight lands.
	lease *leaseHold
	// call is the request's call to the origin, whose body a fill may take
	// over (fill.go), once the response has arrived.
	call *originCall
}

// land ends the flight: its response is stored, or will not be.
func (l *flightLead) land() {
	if l != nil {
		l.lease.end()
		l.fs.land(l.key, l.f)
	}
}

// extend starts the flight's bound again, from now: its leader waited for
// another Cache's response (a lease), and goes to the origin only now.
func (l *flightLead) extend(bound time.Duration) {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	l.f.timer.Reset(bound)
}

// storing tells the waiters that the response has arrived whole and that
// its store has begun: they wait for the store as for any backend call,
// within their own budget, not for as long as the store may take.
func (l *flightLead) storing() {
	if l != nil {
		l.f.storingOnce.Do(func() { close(l.f.storing) })
	}
}

// stream tells the waiters that the response's body fills f: they may
// read it as it arrives rather than wait for it to be stored.
func (l *flightLead) stream(f *fill) {
	if l != nil {
		l.f.fill = f
		close(l.f.streaming)
	}
}

// join returns the flight for key, and whether the caller leads it: the
// first caller starts a flight that lands by itself after bound at the
// latest; later callers wait on it.
func (fs *flights) join(key string, bound time.Duration) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.byKey[key]; f != nil {
		return f, false
	}
	if fs.byKey == nil {
		fs.byKey = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{}), storing: make(chan struct{}), streaming: make(chan struct{})}
	fs.byKey[key] = f
	f.timer = time.AfterFunc(bound, func() { fs.land(key, f) })
	return f, true
}

// land ends f, the flight for key: it wakes the waiters and unregisters it.
// It may be called any number of times, from any goroutine.
func (fs *flights) land(key string, f *flight) {
	f.once.Do(func() {
		fs.mu.Lock() // join sets f.timer under it
		f.timer.Stop()
		fs.recent[landingSlot(key)].Store(fs.landings.Add(1))
		if fs.byKey[key] == f {
			delete(fs.byKey, key)
		}
		fs.mu.Unlock()
		close(f.done)
	})
}

// landed returns the count of flights landed so far, for landedSince: a
// request reads it before it looks its key up.
func (fs *flights) landed() uint64 {
	return fs.landings.Load()
}

// landedSince reports whether a flight for key may have landed after
// landed returned count: then what it stored was not there when the
// request that read count looked key up. Another key sharing key's slot
// may make it report true: the cost is one lookup more.
func (fs *flights) landedSince(key string, count uint64) bool {
	return fs.recent[landingSlot(key)].Load() > count
}

// landingSeed seeds the hash of landingSlot.
var landingSeed = maphash.MakeSeed()

// landingSlot returns key's slot in flights.recent, by the hash the LRU
// shards keys by.
func landingSlot(key string) int {
	return int(maphash.String(landingSeed, key) % uint64(len(flights{}.recent)))
}

// inFlight returns the number of flights registered.
func (fs *flights) inFlight() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.byKey)
}

// collapsible reports whether a request the cache sends to the origin may
// wait for a twin in flight, and be answered from what it stores: a GET whose
// verdict is to forward or revalidate, that asks nothing a stored response
// cannot give (no-store, no-cache, a Range, or the Fetch modes reload and
// no-store, which must reach the origin themselves) and carries no
// validators of its own.
func collapsible(d *decision) bool {
	return (d.Action == policy.Forward || d.Action == policy.Revalidate) && !d.bypass &&
		d.mode != ModeReload && d.mode != ModeNoStore &&
		d.req.Method == http.MethodGet && !d.reqCC.NoStore && !d.reqCC.NoCache &&
		!d.fields.rangeRequest && !d.fields.conditionals
}
