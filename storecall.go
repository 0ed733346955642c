package acache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds how the Cache calls its Backend so that no backend can hold
// a request up: every call has a deadline of its own, a backend other than the
// in-memory LRU runs off the caller's goroutine so that even one that ignores
// its context cannot keep a caller past that deadline or its own, and the
// stores and removals of one key are serialised without a lock that other keys,
// readers or Stats wait on.

// maxBackendJobs bounds the backend operations running off their callers'
// goroutines at once. A backend that hangs holds one slot per operation
// stuck in it; with every slot taken, the Cache skips the backend (a miss,
// no store) instead of starting more goroutines.
const maxBackendJobs = 512

var (
	errBackendTimeout = errors.New("acache: backend operation timed out")
	errBackendBusy    = errors.New("acache: too many backend operations in flight")
)

// callContext returns the context for one call to the backend operation op
// (one of backendOps: "get", "set", ...): ctx with the backend timeout, and
// the function to call with the call's error once the backend returned,
// which ends the context, records how long the call took (Stats.Backend)
// and tells the backend observer. The in-memory LRU never blocks and
// ignores contexts, so it gets ctx as it is, untimed, at no cost. A failed
// call is counted by report, under the same op.
func (s *store) callContext(ctx context.Context, op string) (context.Context, func(err error)) {
	return s.callContextWithin(ctx, op, s.cfg.backendTimeout)
}

// callContextWithin is callContext with a timeout of its own.
func (s *store) callContextWithin(ctx context.Context, op string, timeout time.Duration) (context.Context, func(err error)) {
	if s.direct {
		return ctx, func(error) {}
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	return callCtx, func(err error) {
		cancel()
		d := time.Since(start)
		s.n.observed.called(op, d)
		s.observe(ctx, op, d, err)
	}
}

// detached runs job, which calls the backend, in a goroutine of its own and
// waits for it to finish, for at most what is left of the request's budget
// b (the backend timeout when b is nil) and never after ctx is done, and
// spends from b the time it waited. It reports whether job finished in
// time; when it did not, job goes on until the backend returns, and the
// caller must not read what job writes. A panic in job is recovered and
// reported as a failure of op. It runs nothing and reports false, without
// waiting, when b is spent, when the circuit breaker is open, and with
// maxBackendJobs jobs already running.
func (s *store) detached(ctx context.Context, op string, b *budget, job func()) bool {
	wait := b.wait(s.cfg.backendTimeout)
	if wait <= 0 {
		return false // the request's share of its time for the backend is spent
	}
	if s.breaker != nil && s.breaker.open() {
		s.breaker.skipped.Add(1)
		return false
	}
	select {
	case s.jobs <- struct{}{}:
	default:
		s.fail(ctx, op, "", errBackendBusy)
		return false
	}
	finished := make(chan struct{})
	go func() {
		defer func() { <-s.jobs }()
		defer close(finished)
		var failed bool
		defer s.n.recovered(op, &failed)
		job()
	}()
	start := time.Now()
	defer func() { b.spend(time.Since(start)) }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-finished:
		return true
	case <-timer.C:
		s.fail(ctx, op, "", errBackendTimeout)
	case <-ctx.Done():
		s.fail(ctx, op, "", fmt.Errorf("%w: %w", errBackendTimeout, context.Cause(ctx)))
	}
	select {
	case <-finished: // it finished as the wait ended
		return true
	default:
		return false
	}
}

// backendCall makes call, one backend call, within what is left of the
// request's budget b: on the caller's goroutine over a backend that keeps
// its deadlines, else through detached, with a deadline of its own as long
// as detached waits for it. ok is false when it did not answer in time, or
// was not made (the budget spent). (A function of its own, so that the
// variables the goroutine writes do not move to the heap on the LRU's path,
// which calls the backend directly.)
func backendCall[T any](s *store, ctx context.Context, op string, b *budget, call func(context.Context) (T, error)) (v T, err error, ok bool) {
	wait := b.wait(s.cfg.backendTimeout)
	if s.punctual {
		if wait <= 0 {
			return v, nil, false // the request's share of its time for the backend is spent
		}
		start := time.Now()
		callCtx, done := s.callContextWithin(ctx, op, wait)
		v, err = call(callCtx)
		done(err)
		b.spend(time.Since(start))
		return v, err, true
	}
	var got T
	var gotErr error
	ok = s.detached(ctx, op, b, func() {
		callCtx, done := s.callContextWithin(ctx, op, wait)
		got, gotErr = call(callCtx)
		done(gotErr)
	})
	if !ok {
		return v, nil, false
	}
	return got, gotErr, true
}

// budgetShare is the share of a request's time left that its backend calls
// may take, together: a quarter, the origin keeps the rest.
const budgetShare = 4

// budget is how long one request's backend calls may keep it waiting,
// together: its lookup, and its store once its body has been read (a store
// that outlasts it goes on in the background). It is the smaller of the
// backend timeout and a quarter of the time left before the request's
// deadline, so that a backend that hangs, or a client timeout shorter than
// the backend timeout, never costs the request its answer from the origin.
// A nil *budget is the backend timeout for each call, for the calls that no
// request waits for (Purge, background refreshes).
type budget struct {
	left atomic.Int64 // nanoseconds
}

// budgetFor returns the budget of a request with context ctx, or nil over
// the in-memory LRU, which never makes a request wait.
func (s *store) budgetFor(ctx context.Context) *budget {
	if s.direct {
		return nil
	}
	limit := s.cfg.backendTimeout
	if deadline, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(deadline)/budgetShare)
	}
	b := &budget{}
	b.left.Store(int64(max(limit, 0)))
	return b
}

// wait returns how long the next backend call may keep the request
// waiting: what is left of b, and at most limit (limit when b is nil).
func (b *budget) wait(limit time.Duration) time.Duration {
	if b == nil {
		return limit
	}
	return min(limit, time.Duration(b.left.Load()))
}

// spend takes d from what is left of b.
func (b *budget) spend(d time.Duration) {
	if b != nil {
		b.left.Add(-int64(d))
	}
}

// keyLocks serialises the stores and removals of one key, so that the bytes
// the Cache counts stay the bytes of the entries the backend holds, without
// making other keys wait. The zero value is ready to use.
type keyLocks struct {
	// mu guards locks.
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int // callers holding or waiting for mu; guarded by keyLocks.mu
}

// lock locks key and returns the function that unlocks it.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// await runs job, which calls the backend, and waits until it returns or ctx
// is done. Over the LRU, which never blocks, job runs in the caller's
// goroutine; over any other backend it runs in a goroutine of its own, which
// holds one of the Cache's backend job slots (see [store.detached]), so that
// a backend that ignores its contexts cannot hold the caller past ctx. Unlike
// detached, the wait is not bounded by the backend timeout: job may make many
// calls, each of which is. A panic in job is reported and returned as an
// error.
func (s *store) await(ctx context.Context, op string, job func() error) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if s.direct {
		return s.guarded(op, job)
	}
	select {
	case s.jobs <- struct{}{}:
	default:
		s.fail(ctx, op, "", errBackendBusy)
		return errBackendBusy
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-s.jobs }()
		done <- s.guarded(op, job)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // it finished as ctx ended
			return err
		default:
			return context.Cause(ctx)
		}
	}
}

// guarded runs job, turning a panic into a reported failure of op and an
// error.
func (s *store) guarded(op string, job func() error) (err error) {
	var failed bool
	defer func() {
		if failed {
			err = fmt.Errorf("acache: %s: panic in the cache or its backend", op)
		}
	}()
	defer s.n.recovered(op, &failed)
	return job()
}
