package rediscache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds how MoveToEnd reaches Redis: in batches. The Cache calls
// MoveToEnd after every hit; run one by one, the touches would double the
// commands a hit costs Redis. Instead MoveToEnd queues the key and returns,
// and a goroutine of the Store sends what has queued, a moment later, in one
// script per shard, a key touched many times in between once. The Store's own
// Set, Pop and PopOldest send the queue first, so that in one Store the
// order is exactly the order of the calls; other processes see a touch
// up to flushDelay late.

const (
	// flushDelay is how long a touch waits for others to join its batch.
	flushDelay = time.Millisecond
	// flushTimeout bounds the sending of one batch by the Store's goroutine.
	flushTimeout = time.Second
	// maxPending bounds the touches queued; past it MoveToEnd refuses more.
	maxPending = 8192
	// maxBatch bounds the members of one script, so that none blocks Redis
	// for long.
	maxBatch = 512
)

var errTooManyTouches = errors.New("rediscache: move to end: too many touches queued")

// touches is the queue of MoveToEnd calls not yet sent. The zero value is
// ready to use.
type touches struct {
	// mu guards the fields below it.
	mu      sync.Mutex
	pending []string // keys, in the order of the calls
	started bool     // the goroutine runs, or ran
	closed  bool
	wake    chan struct{} // a token when pending was empty
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the goroutine has ended

	// sending holds a token while a batch is sent, so that batches reach
	// Redis in order and the Store's writes wait for the one under way, no
	// longer than their context allows (see lockSending).
	sending chan struct{}
	// failed holds the error of the last batch the goroutine failed to
	// send, for the next MoveToEnd to report.
	failed atomic.Pointer[error]
}

// MoveToEnd marks the entry stored under key as the most recently used and
// starts its idle TTL again; it does nothing for a key that is not stored.
// It queues the key and returns: the touch reaches Redis within about a
// millisecond, with others (see the package documentation). It returns the
// error of an earlier batch that could not be sent, if any, so that the
// Cache counts it. After Close it sends the touch itself.
func (s *Store) MoveToEnd(ctx context.Context, key string) error {
	if s.client == nil {
		return errNoClient
	}
	t := &s.touches
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return s.sendTouches(ctx, []string{key})
	}
	if len(t.pending) >= maxPending {
		t.mu.Unlock()
		return errTooManyTouches
	}
	if !t.started {
		t.started = true
		t.wake = make(chan struct{}, 1)
		t.stop = make(chan struct{})
		t.done = make(chan struct{})
		go s.sendInBackground()
	}
	t.pending = append(t.pending, key)
	if len(t.pending) == 1 {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	t.mu.Unlock()
	if err := t.failed.Swap(nil); err != nil {
		return *err
	}
	return nil
}

// sendInBackground is the Store's goroutine: it sends the queued touches
// flushDelay after the first, until Close, then sends what is left.
func (s *Store) sendInBackground() {
	t := &s.touches
	defer close(t.done)
	for {
		select {
		case <-t.wake:
		case <-t.stop:
			s.flushInBackground()
			return
		}
		timer := time.NewTimer(flushDelay)
		select {
		case <-timer.C:
		case <-t.stop:
			timer.Stop()
		}
		s.flushInBackground()
	}
}

// flushInBackground sends the queued touches under flushTimeout, keeping
// the error for the next MoveToEnd.
func (s *Store) flushInBackground() {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := s.flush(ctx); err != nil {
		s.touches.failed.Store(&err)
	}
}

// lockSending waits for the batch under way, if any, to be sent, and takes
// the token: a batch stuck on a Redis that does not answer holds the
// Store's calls no longer than their contexts allow, so that the Store
// keeps its deadlines ([Store.KeepsDeadlines]).
func (t *touches) lockSending(ctx context.Context) error {
	select {
	case t.sending <- struct{}{}:
		return nil
	default:
	}
	select {
	case t.sending <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// unlockSending gives the token back.
func (t *touches) unlockSending() { <-t.sending }

// flush sends the queued touches, waiting for a batch under way first.
func (s *Store) flush(ctx context.Context) error {
	t := &s.touches
	if err := t.lockSending(ctx); err != nil {
		return err
	}
	defer t.unlockSending()
	t.mu.Lock()
	batch := t.pending
	t.pending = nil
	t.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	return s.sendTouches(ctx, batch)
}

// sendTouches runs touchScript on keys: for each shard, its keys in the order
// given, each once, at its last place.
func (s *Store) sendTouches(ctx context.Context, keys []string) error {
	type batch struct {
		entries []string // the keys of the entries' values
		members []any
	}
	batches := make(map[*shard]*batch)
	var order []*shard
	for _, key := range lastTouches(keys) {
		sh, member := s.locate(key)
		b := batches[sh]
		if b == nil {
			b = &batch{}
			batches[sh] = b
			order = append(order, sh)
		}
		b.entries = append(b.entries, sh.entryPrefix+member)
		b.members = append(b.members, member)
	}
	var errs []error
	for _, sh := range order {
		entries, members := batches[sh].entries, batches[sh].members
		for len(members) > 0 {
			n := min(len(members), maxBatch)
			keys := append(sh.all[:6:6], entries[:n]...)
			args := append([]any{s.idleMillis, s.metaMillis}, members[:n]...)
			if err := touchScript.Run(ctx, s.client, keys, args...).Err(); err != nil {
				errs = append(errs, s.repair(ctx, sh, err))
				break
			}
			entries, members = entries[n:], members[n:]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rediscache: move to end: %w", err)
	}
	return nil
}

// lastTouches returns keys, each once, at the place of its last touch.
func lastTouches(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	var last []string
	for _, key := range slices.Backward(keys) {
		if !seen[key] {
			seen[key] = true
			last = append(last, key)
		}
	}
	slices.Reverse(last)
	return last
}

// takeTouches takes the touches queued for the keys of sh out of the queue
// and returns their members, each once at its last place, for a Commit on
// sh to apply before it evicts: in one Store the order a Commit sees
// follows the calls, and the touches cost no round trip of their own. It
// waits for a batch under way first. Past maxBatch members it sends them
// itself instead (a script must not block Redis for long), and returns nil.
func (s *Store) takeTouches(ctx context.Context, sh *shard) []string {
	t := &s.touches
	if t.lockSending(ctx) != nil {
		return nil // the touches stay queued; the Commit fails on ctx too
	}
	defer t.unlockSending()
	t.mu.Lock()
	queued := t.pending
	t.pending = nil
	t.mu.Unlock()
	var mine, members, rest []string
	for _, key := range lastTouches(queued) {
		if of, member := s.locate(key); of == sh {
			mine, members = append(mine, key), append(members, member)
		} else {
			rest = append(rest, key)
		}
	}
	if len(rest) > 0 {
		t.mu.Lock()
		t.pending = append(rest, t.pending...) // queued before what came meanwhile
		if t.wake != nil {
			select {
			case t.wake <- struct{}{}:
			default:
			}
		}
		t.mu.Unlock()
	}
	if len(members) > maxBatch {
		if err := s.sendTouches(ctx, mine); err != nil {
			t.failed.Store(&err)
		}
		return nil
	}
	return members
}

// Close sends the touches still queued and stops the Store's goroutines,
// waiting for them: the one that sends touches, and those of its
// subscriptions to the shards' lease channels (lease.go). It does not close
// the client, which the caller owns and closes after Close. It always
// returns nil; after it, MoveToEnd sends each touch itself, AwaitLease
// polls, and the Store goes on working.
func (s *Store) Close() error {
	defer s.leases.close()
	t := &s.touches
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	started := t.started
	t.mu.Unlock()
	if started {
		close(t.stop)
		<-t.done
	}
	return nil
}
