package acache

// This file holds the circuit breaker in front of a backend that can fail
// (any but the in-memory LRU): after breakerFailures failures in a row it
// stops calling the backend for breakerOpenFor, then lets one call through
// to probe it. While it is open, requests go to the origin at once instead
// of each waiting for a backend that does not answer.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

const (
	// breakerFailures is how many backend calls in a row must fail or time
	// out for the breaker to open.
	breakerFailures = 5
	// breakerOpenFor is how long the breaker stays open before it lets one
	// call through to probe the backend.
	breakerOpenFor = time.Second
)

// errBreakerOpen is what a backend call returns, without calling the
// backend, while the breaker is open.
var errBreakerOpen = errors.New("acache: backend skipped: the circuit breaker is open after failures in a row")

// breaker counts the outcomes of backend calls and opens after
// breakerFailures failures in a row. It is sony/gobreaker's two-step
// breaker behind an atomic: while open, a call learns it from one atomic
// load and the clock, without the breaker's mutex, so that callers on every
// core never contend; the mutex is taken only to report an outcome, or to
// let the probe through once the breaker may close.
type breaker struct {
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
	// openUntil is when the breaker stops being open, in Unix nanoseconds;
	// zero when it is closed or half-open. Written by onStateChange.
	openUntil atomic.Int64
	trips     atomic.Int64 // how many times it opened
	skipped   atomic.Int64 // calls not made because it was open
}

func newBreaker() *breaker {
	b := &breaker{}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "acache backend",
		MaxRequests: 1, // one probe when half-open
		Timeout:     breakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= breakerFailures
		},
		// A corrupt entry is the backend working: the data is bad, not the
		// store.
		IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, ErrCorruptEntry) },
		// A caller that went away says nothing of the backend.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			switch to {
			case gobreaker.StateOpen:
				b.openUntil.Store(time.Now().Add(breakerOpenFor).UnixNano())
				b.trips.Add(1)
			default:
				b.openUntil.Store(0)
			}
		},
	})
	return b
}

// open reports whether the breaker is open: backend calls are skipped. It
// is open up to its expiry included, as gobreaker counts it.
func (b *breaker) open() bool {
	until := b.openUntil.Load()
	return until != 0 && time.Now().UnixNano() <= until
}

// allow returns the function that reports the outcome of one backend call,
// to be called once, or errBreakerOpen when the call must not be made.
func (b *breaker) allow() (report func(error), err error) {
	if b.open() {
		b.skipped.Add(1)
		return nil, errBreakerOpen
	}
	report, err = b.cb.Allow()
	if err != nil { // open, or half-open with its probe under way
		b.skipped.Add(1)
		return nil, errBreakerOpen
	}
	return report, nil
}

// breakerCall makes one backend call through g's breaker, with ctx the
// call's own context. A backend that keeps its deadlines returns by then:
// its outcome is reported when it returns. Any other may hang or ignore its
// context: when ctx ends before call returns, the call counts as failed at
// that moment, once, and its late answer changes nothing.
func breakerCall[T any](g *breakerBackend, ctx context.Context, call func() (T, error)) (T, error) {
	report, err := g.b.allow()
	if err != nil {
		var zero T
		return zero, err
	}
	if g.punctual {
		v, err := call()
		report(err)
		return v, err
	}
	var once sync.Once
	done := func(err error) { once.Do(func() { report(err) }) }
	stop := context.AfterFunc(ctx, func() { done(ctx.Err()) })
	v, err := call()
	stop()
	done(err)
	return v, err
}

// breakerBackend is a Backend behind a breaker: each method is one call the
// breaker counts, and returns errBreakerOpen at once while it is open.
type breakerBackend struct {
	b         *breaker
	inner     Backend
	sizer     Sizer     // inner, if it is one
	committer Committer // inner, if it is one
	leaser    Leaser    // inner, if it is one and a Committer
	punctual  bool      // inner keeps its deadlines (DeadlineKeeper)
}

func (g *breakerBackend) Contains(ctx context.Context, key string) (bool, error) {
	return breakerCall(g, ctx, func() (bool, error) { return g.inner.Contains(ctx, key) })
}

func (g *breakerBackend) Len(ctx context.Context) (int, error) {
	return breakerCall(g, ctx, func() (int, error) { return g.inner.Len(ctx) })
}

func (g *breakerBackend) Get(ctx context.Context, key string) (*Entry, error) {
	return breakerCall(g, ctx, func() (*Entry, error) { return g.inner.Get(ctx, key) })
}

func (g *breakerBackend) Set(ctx context.Context, key string, e *Entry) error {
	_, err := breakerCall(g, ctx, func() (struct{}, error) { return struct{}{}, g.inner.Set(ctx, key, e) })
	return err
}

func (g *breakerBackend) Pop(ctx context.Context, key string) (*Entry, error) {
	return breakerCall(g, ctx, func() (*Entry, error) { return g.inner.Pop(ctx, key) })
}

func (g *breakerBackend) PopOldest(ctx context.Context) (string, *Entry, error) {
	type popped struct {
		key string
		e   *Entry
	}
	p, err := breakerCall(g, ctx, func() (popped, error) {
		key, e, err := g.inner.PopOldest(ctx)
		return popped{key, e}, err
	})
	return p.key, p.e, err
}

func (g *breakerBackend) MoveToEnd(ctx context.Context, key string) error {
	_, err := breakerCall(g, ctx, func() (struct{}, error) { return struct{}{}, g.inner.MoveToEnd(ctx, key) })
	return err
}

// Size is the inner backend's [Sizer.Size], through the breaker; only when
// the inner backend is a Sizer is the breakerBackend one for the Cache.
func (g *breakerBackend) Size(ctx context.Context) (entries int, bytes int64, err error) {
	type sized struct {
		entries int
		bytes   int64
	}
	s, err := breakerCall(g, ctx, func() (sized, error) {
		n, b, err := g.sizer.Size(ctx)
		return sized{n, b}, err
	})
	return s.entries, s.bytes, err
}

// Commit is the inner backend's [Committer.Commit], through the breaker;
// only when the inner backend is a Committer is the breakerBackend one for
// the Cache.
func (g *breakerBackend) Commit(ctx context.Context, c *Commit) (CommitResult, error) {
	return breakerCall(g, ctx, func() (CommitResult, error) { return g.committer.Commit(ctx, c) })
}

// Listed is the inner backend's [Committer.Listed], through the breaker.
func (g *breakerBackend) Listed(ctx context.Context, uri string) ([]string, error) {
	return breakerCall(g, ctx, func() ([]string, error) { return g.committer.Listed(ctx, uri) })
}

// GetOrLease is the inner backend's [Leaser.GetOrLease], through the
// breaker; only when the inner backend is a Leaser and a Committer is the
// breakerBackend a Leaser for the Cache.
func (g *breakerBackend) GetOrLease(ctx context.Context, key string, stale uint64, token string, ttl time.Duration) (*Entry, bool, error) {
	r, err := breakerCall(g, ctx, func() (leaseReply, error) {
		e, leased, err := g.leaser.GetOrLease(ctx, key, stale, token, ttl)
		return leaseReply{e, leased}, err
	})
	return r.e, r.leased, err
}

// RenewLease is the inner backend's [Leaser.RenewLease], through the breaker.
func (g *breakerBackend) RenewLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	return breakerCall(g, ctx, func() (bool, error) { return g.leaser.RenewLease(ctx, key, token, ttl) })
}

// ReleaseLease is the inner backend's [Leaser.ReleaseLease], through the
// breaker.
func (g *breakerBackend) ReleaseLease(ctx context.Context, key, token string) error {
	_, err := breakerCall(g, ctx, func() (struct{}, error) { return struct{}{}, g.leaser.ReleaseLease(ctx, key, token) })
	return err
}

// AwaitLease is the inner backend's [Leaser.AwaitLease], skipped while the
// breaker is open but not counted by it: a wait that lasts until its
// context ends is no failure of the backend.
func (g *breakerBackend) AwaitLease(ctx context.Context, key string) (bool, error) {
	if g.b.open() {
		g.b.skipped.Add(1)
		return false, errBreakerOpen
	}
	return g.leaser.AwaitLease(ctx, key)
}

// tripped returns how many times b opened; zero for a nil b.
func (b *breaker) tripped() int64 {
	if b == nil {
		return 0
	}
	return b.trips.Load()
}

// skips returns how many backend calls b spared; zero for a nil b.
func (b *breaker) skips() int64 {
	if b == nil {
		return 0
	}
	return b.skipped.Load()
}

// leaseReply is what GetOrLease answered.
type leaseReply struct {
	e      *Entry
	leased bool
}
