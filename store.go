package acache

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// store is the Cache's one door to its Backend: every call to it goes
// through the methods of this file, index.go (the partition index) and the
// store*.go files (deadlines, the breaker, the recency queue). It looks
// entries up and validates them, stores them with their variants and the
// index, makes room within the limits, and removes them.
type store struct {
	cfg *config   // the limits, the backend timeout, the logger
	n   *counters // where failures, stores and evictions are counted
	d   *deriver  // what is derived from entries, and their validation

	backend Backend
	memory  *lru   // the backend, when it is the in-memory LRU
	peeker  Peeker // the backend, when it answers some Gets from memory
	sizer   Sizer  // the backend, if it counts its own bytes
	// committer is the backend, if it stores atomically (storecommit.go).
	committer Committer
	// leaser is the backend, if it is a Committer that leases keys to the
	// Caches sharing it (storelease.go); leases makes the tokens.
	leaser Leaser
	leases leaseTokens
	// direct reports the in-memory LRU, which never blocks: it is called in
	// the caller's goroutine, without deadlines.
	direct bool
	// punctual reports a backend that keeps its calls' deadlines
	// (DeadlineKeeper): its lookups and stores run in the caller's
	// goroutine, under a deadline.
	punctual bool
	// breaker skips any other backend after failures in a row; nil for the
	// LRU. backend is then the breakerBackend around it.
	breaker *breaker
	// jobs holds a token for each backend operation running off its
	// caller's goroutine (see detached).
	jobs chan struct{}
	// keys serialises stores and removals per key, so that usage counts
	// the entries the backend holds.
	keys keyLocks
	// partitioned is set once this Cache committed a key with a partition:
	// a Committer's index may then list keys, which a Pop of their URI
	// key removes out of sight (recount).
	partitioned atomic.Bool
	// usage counts the stored entries and the stores under way against
	// the limits; inFlight the bytes that bodies being read hold, reserved
	// against the same byte limit.
	usage    usage
	inFlight atomic.Int64
	// moves queues the recency updates of hits, sent in the background.
	moves moveQueue
	// disabled holds why the backend can store nothing (ErrNilBackend), or
	// nil: every request then bypasses the Cache.
	disabled atomic.Pointer[error]
}

// init sets s up over backend, for a Cache configured as cfg, counting in n
// and deriving with d.
func (s *store) init(backend Backend, cfg *config, n *counters, d *deriver) {
	s.cfg, s.n, s.d = cfg, n, d
	s.backend = backend
	s.jobs = make(chan struct{}, maxBackendJobs)
	s.moves.stop = make(chan struct{})
	s.memory, s.direct = backend.(*lru)
	s.sizer, _ = backend.(Sizer)
	s.committer, _ = backend.(Committer)
	if !s.direct && !nilPointer(backend) {
		// Any backend but the in-memory LRU can fail: it is called behind
		// a circuit breaker, but for what it answers from memory (Peek).
		s.peeker, _ = backend.(Peeker)
		if keeper, ok := backend.(DeadlineKeeper); ok {
			s.punctual = keeper.KeepsDeadlines()
		}
		s.breaker = newBreaker()
		guarded := &breakerBackend{b: s.breaker, inner: backend, punctual: s.punctual}
		s.backend = guarded
		if s.sizer != nil {
			guarded.sizer, s.sizer = s.sizer, guarded
		}
		if s.committer != nil {
			guarded.committer, s.committer = s.committer, guarded
			if leaser, ok := backend.(Leaser); ok {
				guarded.leaser, s.leaser = leaser, guarded
			}
		}
	}
	if nilPointer(backend) {
		s.disable(fmt.Errorf("%w: NewCache was given a nil %T", ErrNilBackend, backend))
	}
}

// fail reports err, the failure of the backend operation op on key: a
// backend made from nil disables the Cache (said once), a call the breaker
// skipped is no failure, anything else is counted and logged.
//
// Under the key locks (holdFailures), a failure is kept in ctx and reported
// when they are released: nothing calls the user's slog handler while a
// lock is held.
func (s *store) fail(ctx context.Context, op, key string, err error) {
	switch {
	case errors.Is(err, ErrNilBackend):
		s.disable(err)
	case errors.Is(err, errBreakerOpen):
	default:
		if h, ok := ctx.Value(heldReportsKey{}).(*heldReports); ok {
			h.failures = append(h.failures, failure{op, key, err})
			return
		}
		s.n.report(op, key, err)
	}
}

// failure is one failure of a backend operation, held until it can be
// reported.
type failure struct {
	op, key string
	err     error
}

// observedCall is one call to the backend, held until the backend
// observer can be told of it.
type observedCall struct {
	op  string
	d   time.Duration
	err error
}

// heldReports are the failures and backend calls met under key locks.
type heldReports struct {
	failures []failure
	calls    []observedCall
}

// heldReportsKey is the key of the reports a context holds.
type heldReportsKey struct{}

// holdFailures returns ctx holding the failures that fail meets under it,
// and the calls that observe meets, until report, which the caller defers
// before it takes its key locks, so that it runs after they are released.
func (s *store) holdFailures(ctx context.Context) (held context.Context, report func()) {
	h := new(heldReports)
	return context.WithValue(ctx, heldReportsKey{}, h), func() {
		for _, f := range h.failures {
			s.n.report(f.op, f.key, f.err)
		}
		for _, c := range h.calls {
			s.observe(context.Background(), c.op, c.d, c.err)
		}
	}
}

// observe tells the backend observer (WithBackendObserver), if any, of a
// call to the backend operation op that took d and returned err; under
// key locks (holdFailures), once they are released. A panic in it is
// reported, never passed on.
func (s *store) observe(ctx context.Context, op string, d time.Duration, err error) {
	observer := s.cfg.backendObserver
	if observer == nil {
		return
	}
	if h, ok := ctx.Value(heldReportsKey{}).(*heldReports); ok {
		h.calls = append(h.calls, observedCall{op, d, err})
		return
	}
	var failed bool
	defer s.n.recovered("backend observer", &failed)
	observer(op, d, err)
}

// nilPointer reports a Backend that is a nil pointer (or another nil
// reference) inside a non-nil interface: calling its methods would panic.
func nilPointer(b Backend) bool {
	v := reflect.ValueOf(b)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// disable makes every request bypass the Cache from now on, because its
// backend can store nothing (err), and logs why at Error, once.
func (s *store) disable(err error) {
	if s.disabled.CompareAndSwap(nil, &err) {
		s.cfg.logger.Error("acache: the backend can store nothing; every request goes to the origin", "err", err)
	}
}

// lookup returns the entry stored under key, or nil. A backend error, a
// backend that does not answer within the backend timeout or before ctx is
// done, and an entry that fails validation are reported and become a miss;
// a bad entry is removed. got, when not nil, is what the LRU already
// returned for key (keyAndEntry), which it checks instead. answered is
// false when the backend failed or did not answer.
func (s *store) lookup(ctx context.Context, b *budget, key string, got *Entry) (e *Entry, answered bool) {
	e = got
	var err error
	switch {
	case got != nil:
	case s.direct:
		e, err = s.backend.Get(ctx, key)
	default:
		if s.peeker != nil {
			e = s.peeker.Peek(key) // from memory, on this goroutine
		}
		if e == nil {
			var ok bool
			if e, err, ok = s.get(ctx, b, key); !ok {
				return nil, false
			}
		}
	}
	e, err = s.checked(ctx, b, key, e, err)
	if err != nil {
		return nil, false
	}
	if e == nil || e.StatusCode == 0 { // 0: an index of partitions, no response of its own
		return nil, true
	}
	return e, true
}

// get calls the backend's Get for key within what is left of the budget b
// (backendCall). ok is false when it did not answer in time.
func (s *store) get(ctx context.Context, b *budget, key string) (e *Entry, err error, ok bool) {
	return backendCall(s, ctx, "get", b, func(ctx context.Context) (*Entry, error) {
		return s.backend.Get(ctx, key)
	})
}

// read is lookup for Purge, Clear and Stored, in a goroutine that may wait
// for the backend (Cache.await): the entry stored under key, an index with
// no response of its own included, or the backend's error.
func (s *store) read(ctx context.Context, key string) (*Entry, error) {
	callCtx, done := s.callContext(ctx, "get")
	e, err := s.backend.Get(callCtx, key)
	done(err)
	return s.checked(ctx, nil, key, e, err)
}

// checked returns e, what the backend answered (with err) for key, once it
// is checked: a backend error is reported and returned; bytes that do not
// decode, an entry stored under another key and an entry that fails
// validation are reported and removed, and read as nothing. An entry that
// this Cache did not store in this process (a backend decoded it, changed
// it, or another Cache stored it) is trusted in nothing until validated.
func (s *store) checked(ctx context.Context, b *budget, key string, e *Entry, err error) (*Entry, error) {
	switch {
	case errors.Is(err, ErrCorruptEntry):
	case err != nil:
		s.fail(ctx, "get", key, err)
		return nil, fmt.Errorf("acache: reading %q: %w", key, err)
	case e == nil:
		return nil, nil
	case e.Key != key:
		err = fmt.Errorf("%w: stored under %q", ErrCorruptEntry, e.Key)
	case !s.d.derivedHere(e):
		err = s.validEntry(e)
	}
	if err != nil {
		s.fail(ctx, "get", key, err)
		s.remove(ctx, b, key)
		return nil, nil
	}
	return e, nil
}

// used marks key as recently used; a failure only costs recency. A hit
// does not wait for it on a backend other than the LRU: the key joins a
// queue that one goroutine sends to the backend (used.go), so that a hit
// on a networked or disk backend costs one call (Get), not two.
//
// On the LRU, a hit takes none of its locks but one of its shards' (see
// [NewLRU]): the hit is buffered there, through ref when the lookup of the key
// gave one.
func (s *store) used(key string, ref lruRef) {
	switch {
	case s.memory != nil && ref.node != nil:
		s.memory.bufferHitRef(ref)
	case s.memory != nil:
		s.memory.bufferHit(key)
	default:
		s.moves.add(s, key)
	}
}

// store stores e under key, replacing what was there, then evicts the least
// recently used entries until the Cache is within its limits. It waits for
// the backend for at most the backend timeout and never after ctx is done;
// the store goes on in the background after that, under its own deadlines,
// but over a backend that keeps its deadlines, which it calls on the
// caller's goroutine: the store then ends with the wait (saveWithin).
func (s *store) save(ctx context.Context, b *budget, key string, e *Entry, seen lookedUp) {
	s.saveThen(ctx, b, key, e, seen, nil)
}

// storeThen is store, and calls then (when not nil) once the store has
// ended, stored or not: after store returned, when the store outlasted the
// wait.
func (s *store) saveThen(ctx context.Context, b *budget, key string, e *Entry, seen lookedUp, then func()) {
	var once sync.Once
	finish := func() {
		if then != nil {
			once.Do(then)
		}
	}
	var failed bool
	defer func() {
		if failed {
			finish()
		}
	}()
	defer s.n.recovered("store", &failed)
	if e.Size() > s.cfg.maxBytes {
		finish()
		return
	}
	if e.meta == nil {
		e.meta = s.d.metaOf(e)
	}
	if s.direct {
		s.saveNow(ctx, key, e, seen)
		finish()
		return
	}
	job := context.WithoutCancel(ctx)
	if s.punctual {
		s.saveWithin(job, b, key, e, seen)
		finish()
		return
	}
	var started atomic.Bool
	ran := s.detached(ctx, "store", b, func() {
		started.Store(true)
		defer finish()
		s.saveNow(job, key, e, seen)
	})
	if !ran && !started.Load() {
		finish() // not started (the budget spent, the breaker open): nothing to wait for
	}
}

// saveWithin is saveNow on the caller's goroutine, for a backend that keeps
// its deadlines: it ends with what is left of the request's budget b, after
// which the store is given up (a response the waiting requests then fetch
// themselves), as it is when the breaker is open.
func (s *store) saveWithin(ctx context.Context, b *budget, key string, e *Entry, seen lookedUp) {
	wait := b.wait(s.cfg.backendTimeout)
	if wait <= 0 {
		return
	}
	if s.breaker.open() {
		s.breaker.skipped.Add(1)
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	s.saveNow(ctx, key, e, seen)
	cancel()
	b.spend(time.Since(start))
}

// storeNow is store in the goroutine that runs it: each backend call under
// a deadline of its own. Room is made before the entry is set, so the Cache
// never holds more than its limits, even for a moment; when it cannot evict,
// it does not store.
func (s *store) saveNow(ctx context.Context, key string, e *Entry, seen lookedUp) {
	ctx, report := s.holdFailures(ctx)
	defer report() // after the locks below are released
	if s.committer != nil {
		s.commit(ctx, key, e, seen)
		return
	}
	if uri, partitioned := splitPartition(key); partitioned {
		// Stores of every partition of a URI take the URI's lock first,
		// then their own: the index at the URI lists each of them.
		unlockURI := s.keys.lock(uri)
		defer unlockURI()
		if !s.listPartition(ctx, uri, key) {
			return
		}
	}
	unlock := s.keys.lock(key)
	defer unlock()
	old, err := s.pop(ctx, key)
	if err != nil {
		return
	}
	if old != nil && s.newerStored(old, e) {
		e = old // the store of a newer response came first: it goes back
	} else if old != nil {
		e.Partitions = old.Partitions // the index belongs to the key
		e.Variants = s.keptVariants(e, old)
		if e.Size() > s.cfg.maxBytes {
			e.Variants = nil
		}
	}
	if !s.put(ctx, key, e) {
		s.dropPartitions(ctx, key, e.Partitions) // unlisted, they could not be invalidated
	}
}

// put makes room for e and sets it under key, reporting whether it did.
func (s *store) put(ctx context.Context, key string, e *Entry) bool {
	size := e.Size()
	if size > s.cfg.maxBytes || !s.makeRoom(ctx, key, size) {
		return false
	}
	callCtx, done := s.callContext(ctx, "set")
	err := s.backend.Set(callCtx, key, e)
	done(err)
	s.usage.settle(size, err == nil)
	if err != nil {
		s.fail(ctx, "set", key, err)
		return false
	}
	s.n.stores.Add(1)
	return true
}

// maxVariants bounds how many responses with different Vary selections the
// Cache keeps for one URL.
const maxVariants = 8

// keptVariants returns the variants of old, the entry e replaces, that e does
// not replace (RFC 9111 Section 4.1): those that vary on the same request
// fields as e with other values. A response whose Vary differs from e's is
// dropped: the origin has changed what it varies on.
func (s *store) keptVariants(e, old *Entry) []*Entry {
	names := s.d.metaOf(e).VaryNames
	if len(names) == 0 && e.Credentials == "" {
		return nil
	}
	var kept []*Entry
	for v := range old.responses() {
		if len(kept) == maxVariants-1 {
			break
		}
		if v.Key != e.Key {
			continue
		}
		if unmatchable(v) {
			continue // an entry of an older encoding whose credentials were dropped
		}
		vNames := s.d.metaOf(v).VaryNames
		otherUser := v.Credentials != "" && e.Credentials != "" && v.Credentials != e.Credentials
		if slices.Equal(vNames, names) && (otherUser || !policy.VaryMatches(names, v.VaryHeader, e.VaryHeader)) {
			if len(v.Variants) > 0 || len(v.Partitions) > 0 {
				flat := *v // a variant has neither variants nor an index
				flat.Variants, flat.Partitions = nil, nil
				v = &flat
			}
			kept = append(kept, v)
		}
	}
	return kept
}

// makeRoom evicts the least recently used entries until one more entry of
// size bytes, to be stored under key, fits within the limits, counting the
// entries other stores are setting, and reserves its place. It reports
// false, reserving nothing, when the backend failed first, when the entry
// does not fit in an empty backend beside the stores under way, or when it
// evicted the index that lists key: the entry would land unlisted, out of
// reach of an invalidation of its URI (RFC 9111 Section 4.4).
func (s *store) makeRoom(ctx context.Context, key string, size int64) bool {
	for recounts := 0; ; {
		settled := s.usage.settledStores()
		n, ok := s.storedEntries(ctx)
		if !ok {
			return false
		}
		fits, counted := s.usage.reserve(n, settled, size, s.cfg.maxEntries, s.cfg.maxBytes)
		if fits {
			return true
		}
		if !counted && recounts < maxRecounts {
			recounts++
			continue // a store landed while n was counted: count again
		}
		callCtx, done := s.callContext(ctx, "pop oldest")
		evicted, old, err := s.backend.PopOldest(callCtx)
		done(err)
		if err != nil {
			s.fail(ctx, "pop oldest", evicted, err)
			return false
		}
		if old == nil { // empty: whatever was counted of stored entries is gone
			s.usage.emptied()
			fits, _ := s.usage.reserve(0, s.usage.settledStores(), size, s.cfg.maxEntries, s.cfg.maxBytes)
			return fits
		}
		s.usage.removed(old.Size())
		s.n.evictions.Add(1)
		// Evicting a URI's index evicts the responses it lists, which an
		// invalidation could no longer reach; the one being stored with
		// them. (A store of this URI by another Cache over the backend,
		// under way at this moment, may still land unlisted.)
		s.dropPartitions(ctx, evicted, old.Partitions)
		if slices.Contains(old.Partitions, key) {
			return false
		}
	}
}

// storedEntries returns the number of entries the backend holds, and
// counts them in usage. From a backend that counts its bytes ([Sizer]), it
// also takes their size, which covers what other Caches, processes and
// earlier runs stored. ok is false when the backend failed.
func (s *store) storedEntries(ctx context.Context) (n int, ok bool) {
	op := "len"
	if s.sizer != nil {
		op = "size"
	}
	callCtx, done := s.callContext(ctx, op)
	if s.sizer == nil {
		n, err := s.backend.Len(callCtx)
		done(err)
		if err != nil {
			s.fail(ctx, "len", "", err)
			return 0, false
		}
		s.usage.counted(n)
		return n, true
	}
	n, stored, err := s.sizer.Size(callCtx)
	done(err)
	if err != nil {
		s.fail(ctx, "size", "", err)
		return 0, false
	}
	s.usage.observed(n, stored)
	return n, true
}

// usage is what a Cache counts against its limits: the bytes of the entries
// it stored, and the places reserved by stores under way; and, for Stats,
// the entries the backend holds. Its mutex is held for arithmetic only,
// never across a backend call.
//
// The counts follow the Cache's own stores and removals, and are set to
// the backend's whenever it counts them (Len or Size) or a Commit reports
// them. A store or removal that lands while the backend counts may be
// counted twice, or not at all, until the next count.
type usage struct {
	mu              sync.Mutex
	bytes           int64 // of the entries stored
	entries         int64 // the entries the backend holds
	reservedBytes   int64 // of the entries being set
	reservedEntries int   // entries being set
	// settled counts the entries set since the start: a count of stored
	// entries taken before one more was set is short of it.
	settled uint64
}

// maxRecounts bounds how often makeRoom counts the stored entries again
// because stores landed while it counted; past it, it evicts instead.
const maxRecounts = 4

// settledStores returns the count of entries set so far, to take before
// the backend counts its entries (reserve).
func (u *usage) settledStores() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.settled
}

// reserve reserves a place for an entry of size bytes if it fits beside n
// stored entries and the places already reserved. n was counted after
// settledStores returned settled; counted is false when an entry was set
// since, which n may not count: nothing is reserved then.
func (u *usage) reserve(n int, settled uint64, size int64, maxEntries int, maxBytes int64) (fits, counted bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.settled != settled {
		return false, false
	}
	if n+u.reservedEntries+1 > maxEntries || u.bytes+u.reservedBytes+size > maxBytes {
		return false, true
	}
	u.reservedEntries++
	u.reservedBytes += size
	return true, true
}

// settle releases a reservation of size bytes, counting them as stored if
// the entry was set.
func (u *usage) settle(size int64, stored bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reservedEntries--
	u.reservedBytes -= size
	if stored {
		u.bytes += size
		u.entries++
		u.settled++
	}
}

// removed uncounts an entry of size bytes that left the backend. The counts
// never go below zero: a store whose Set reported an error may have landed
// all the same, uncounted.
func (u *usage) removed(size int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = max(0, u.bytes-size)
	u.entries = max(0, u.entries-1)
}

// observed sets the entries and the bytes stored to what the backend
// reported ([Sizer], or a Commit).
func (u *usage) observed(entries int, stored int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.entries = max(0, int64(entries))
	u.bytes = max(0, stored)
}

// counted sets the entries stored to what the backend counted (Len).
func (u *usage) counted(entries int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.entries = max(0, int64(entries))
}

// afterCommit counts what a Commit that stored reported (res). From a
// Committer that does not count its entries (Entries 0), it counts them
// itself: the entries Evicted go, and one comes unless it replaced the
// entry that was read (replaced).
func (u *usage) afterCommit(res CommitResult, replaced bool) {
	if res.Entries > 0 {
		u.observed(res.Entries, res.Bytes)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = max(0, res.Bytes)
	u.entries = max(0, u.entries-int64(res.Evicted))
	if !replaced {
		u.entries++
	}
	u.entries = max(1, u.entries) // at least the one stored
}

// emptied records that the backend holds no entry.
func (u *usage) emptied() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes, u.entries = 0, 0
}

// stored returns the bytes of the entries stored.
func (u *usage) stored() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bytes
}

// held returns the number of entries the backend holds, as counted.
func (u *usage) held() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.entries
}

// reserveInFlight reserves n bytes for a body being read, against the byte
// limit that all bodies in flight share; it reports false when they would
// pass it.
func (s *store) reserveInFlight(n int64) bool {
	for {
		held := s.inFlight.Load()
		if held+n > s.cfg.maxBytes {
			return false
		}
		if s.inFlight.CompareAndSwap(held, held+n) {
			return true
		}
	}
}

// remove deletes the entries stored under keys, if any, and the responses
// their indexes list (for a URI key, those of every partition), waiting for
// the backend as store does: in one job, whose wait ends with what is left
// of the budget b. An empty key is skipped.
func (s *store) remove(ctx context.Context, b *budget, keys ...string) {
	var failed bool
	defer s.n.recovered("remove", &failed)
	keys = slices.DeleteFunc(slices.Clone(keys), func(key string) bool { return key == "" })
	if len(keys) == 0 {
		return
	}
	if s.direct {
		s.removeAll(ctx, keys)
		return
	}
	job := context.WithoutCancel(ctx)
	s.detached(ctx, "remove", b, func() { s.removeAll(job, keys) })
}

// removeAll is remove in the goroutine that runs it: removeNow of each key,
// then, unless every one failed, the count of what a Committer removed out
// of sight (recount). It returns the backend's errors, joined.
func (s *store) removeAll(ctx context.Context, keys []string) error {
	var errs []error
	for _, key := range keys {
		if err := s.removeNow(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) < len(keys) {
		s.recount(ctx, keys)
	}
	return errors.Join(errs...)
}

// recount counts again the entries the backend holds (and their bytes,
// over a Sizer) once keys were removed from a Committer: its Pop of a URI
// key also removes the entries the key's index lists, which the Cache does
// not see. Over the in-memory LRU the count costs one lock; over another
// Committer, one call (one round trip to a networked store), made only
// once this Cache has stored a key with a partition, which the index of
// its URI key lists: the indexes of the keys other Caches stored are
// counted at this Cache's next store.
func (s *store) recount(ctx context.Context, keys []string) {
	if s.committer == nil || s.memory == nil && !s.partitioned.Load() {
		return
	}
	uriKey := func(key string) bool {
		_, partitioned := splitPartition(key)
		return key != "" && !partitioned
	}
	if slices.ContainsFunc(keys, uriKey) {
		s.storedEntries(ctx)
	}
}

// removeNow is remove in the goroutine that runs it, returning the
// backend's errors: it pops the entry stored under key and the partitions
// its index lists. Partition stores take the URI's lock first, so none
// lands unlisted while it runs.
func (s *store) removeNow(ctx context.Context, key string) error {
	ctx, report := s.holdFailures(ctx)
	defer report() // after the lock below is released
	unlock := s.keys.lock(key)
	defer unlock()
	old, err := s.pop(ctx, key)
	if old == nil {
		return err
	}
	return s.dropPartitions(ctx, key, old.Partitions)
}

// pop removes the entry stored under key, and it and its bytes from the
// counts, and returns it, or the backend's error. The caller holds the
// key's lock.
func (s *store) pop(ctx context.Context, key string) (*Entry, error) {
	callCtx, done := s.callContext(ctx, "pop")
	old, err := s.backend.Pop(callCtx, key)
	done(err)
	if err != nil {
		s.fail(ctx, "pop", key, err)
		return nil, fmt.Errorf("acache: removing %q: %w", key, err)
	}
	if old != nil {
		s.usage.removed(old.Size())
	}
	return old, nil
}

// validEntry checks an entry that this Cache did not store in this process
// (a backend decoded it, changed it, or another Cache stored it) before
// anything of it is served: whatever a backend returns is untrusted. The
// Cache recomputes the framing fields of every response it serves, so
// these checks cover what it would otherwise pass on: field names and
// values, the status, the protocol, the body against its Content-Length, the
// sizes against the limits, and the shape of the variants (one level deep,
// at most maxVariants, all under the same key).
func (s *store) validEntry(e *Entry) error {
	if len(e.Partitions) > maxPartitions {
		return fmt.Errorf("%w: %d partitions", ErrCorruptEntry, len(e.Partitions))
	}
	for _, key := range e.Partitions {
		if uri, ok := splitPartition(key); !ok || uri != e.Key {
			return fmt.Errorf("%w: a partition %q of another URI", ErrCorruptEntry, key)
		}
	}
	if e.StatusCode == 0 { // an index of partitions only
		if len(e.Partitions) == 0 || len(e.Header) > 0 || len(e.Body) > 0 || len(e.Variants) > 0 {
			return fmt.Errorf("%w: an index with a response in it, or without partitions", ErrCorruptEntry)
		}
		return nil
	}
	if len(e.Variants) >= maxVariants {
		return fmt.Errorf("%w: %d variants", ErrCorruptEntry, len(e.Variants))
	}
	for _, v := range e.Variants {
		switch {
		case v == nil:
			return fmt.Errorf("%w: a nil variant", ErrCorruptEntry)
		case len(v.Variants) > 0:
			return fmt.Errorf("%w: a variant with variants", ErrCorruptEntry)
		case v.Key != e.Key:
			return fmt.Errorf("%w: a variant stored under %q", ErrCorruptEntry, v.Key)
		case len(v.Partitions) > 0:
			return fmt.Errorf("%w: a variant with partitions", ErrCorruptEntry)
		}
		if err := s.validResponse(v); err != nil {
			return err
		}
	}
	if err := s.validResponse(e); err != nil {
		return err
	}
	for v := range e.responses() {
		if v.FreshFor < 0 || v.FreshFor > policy.MaxAge {
			return fmt.Errorf("%w: a rule's freshness of %v", ErrCorruptEntry, v.FreshFor)
		}
	}
	if size := e.Size(); size > s.cfg.maxBytes {
		return fmt.Errorf("%w: %d bytes, more than the cache holds", ErrCorruptEntry, size)
	}
	return nil
}

// validResponse checks one stored response of an entry; see validEntry.
func (s *store) validResponse(e *Entry) error {
	head := strings.HasPrefix(e.Key, http.MethodHead+" ")
	switch {
	case e.StatusCode < 200 || e.StatusCode > 999:
		return fmt.Errorf("%w: status %d", ErrCorruptEntry, e.StatusCode)
	case e.Header == nil:
		return fmt.Errorf("%w: no header", ErrCorruptEntry)
	case !validStoredHeader(e.Header) || !validStoredHeader(e.VaryHeader):
		return fmt.Errorf("%w: a field name or value that cannot be sent", ErrCorruptEntry)
	case int64(len(e.Body)) > s.cfg.maxBodySize:
		return fmt.Errorf("%w: a body of %d bytes, more than the cache stores", ErrCorruptEntry, len(e.Body))
	case head && len(e.Body) > 0:
		return fmt.Errorf("%w: a HEAD response with a body", ErrCorruptEntry)
	case policy.VaryNeverMatches(e.Header):
		return fmt.Errorf("%w: a Vary no request matches", ErrCorruptEntry)
	case e.StatusCode == http.StatusPartialContent && !validIncomplete(e):
		// An incomplete response (partial.go) must say which bytes it holds.
		return fmt.Errorf("%w: a 206 that is not one range of a known length, with a strong validator", ErrCorruptEntry)
	}
	if e.Proto != "" {
		if _, _, ok := http.ParseHTTPVersion(e.Proto); !ok {
			return fmt.Errorf("%w: protocol %q", ErrCorruptEntry, e.Proto)
		}
	}
	if length, ok := e.Header["Content-Length"]; ok && !head {
		if len(length) != 1 || length[0] != strconv.Itoa(len(e.Body)) {
			return fmt.Errorf("%w: Content-Length %q for a body of %d bytes", ErrCorruptEntry, length, len(e.Body))
		}
	}
	return nil
}

// validStoredHeader reports a header whose names are canonical tokens and
// whose values can be sent: the Cache looks fields up by canonical name, so
// a stored "cache-control" would hide its directives.
func validStoredHeader(h http.Header) bool {
	for name := range h {
		if !httpsyntax.ValidToken(name) || !httpsyntax.CanonicalName(name) {
			return false
		}
	}
	return httpsyntax.ValidHeader(h)
}
