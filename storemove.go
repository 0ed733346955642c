package acache

import (
	"context"
	"sync"
	"time"
)

// maxQueuedMoves bounds the recency updates waiting to be sent; past it,
// a hit's update is dropped (the entry only ages a little early).
const maxQueuedMoves = 4096

const (
	// moveDelay is how long the sending goroutine lets hits queue up
	// before it sends them, so that a stream of hits wakes it once per
	// moveDelay, not once per hit.
	moveDelay = time.Millisecond
	// moveIdleRounds is how many rounds of moveDelay without a hit the
	// sending goroutine waits before it ends.
	moveIdleRounds = 8
)

// moveQueue holds the keys of hits whose recency update (MoveToEnd) the
// backend has not received yet. One goroutine at a time sends them, once
// per moveDelay, one call each, and ends when no hit came for a few rounds,
// or at close: a hit never starts a goroutine of its own that could pile up
// behind a slow backend, a stream of hits starts one, and a backend that
// hangs holds one goroutine and a bounded queue.
type moveQueue struct {
	mu      sync.Mutex
	keys    []string
	sending bool // a goroutine is sending the queue
	closed  bool
	stop    chan struct{}  // closed by close: the goroutine waits no more; made by store.init
	running sync.WaitGroup // the sending goroutine
}

// add queues key and starts the sending goroutine if none runs.
func (q *moveQueue) add(s *store, key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.keys) >= maxQueuedMoves {
		return
	}
	q.keys = append(q.keys, key)
	if !q.sending {
		q.sending = true
		tracked := !q.closed // close waits for it; none started after
		if tracked {
			q.running.Add(1)
		}
		go q.send(s, q.stop, tracked)
	}
}

// send sends what is queued every moveDelay, at once after close, and ends
// once nothing was queued for moveIdleRounds rounds, or at once after close.
func (q *moveQueue) send(s *store, stop <-chan struct{}, tracked bool) {
	if tracked {
		defer q.running.Done()
	}
	timer := time.NewTimer(moveDelay)
	defer timer.Stop()
	var batch []string
	for idle := 0; ; {
		select {
		case <-timer.C:
		case <-stop:
		}
		timer.Reset(moveDelay)
		q.mu.Lock()
		if len(q.keys) == 0 {
			if idle++; idle >= moveIdleRounds || q.closed {
				q.sending = false
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			continue
		}
		idle = 0
		batch, q.keys = q.keys, batch[:0]
		q.mu.Unlock()
		s.sendMoves(batch)
		clear(batch)
	}
}

// close sends what is queued and waits for the sending goroutine to end;
// after it, a hit's update is sent at once, by a goroutine that ends when
// the queue is empty.
func (q *moveQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.stop)
	}
	q.mu.Unlock()
	q.running.Wait()
}

// sendMoves sends a batch of recency updates, one call each, under one
// backend timeout for the batch (a backend that hangs fails the rest of it
// at once), reporting failures and a panic.
func (s *store) sendMoves(keys []string) {
	var failed bool
	defer s.n.recovered("move", &failed)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.backendTimeout)
	defer cancel()
	for _, key := range keys {
		start := time.Now()
		err := s.backend.MoveToEnd(ctx, key)
		d := time.Since(start)
		s.n.observed.called("move", d)
		s.observe(ctx, "move", d, err)
		if err != nil {
			s.fail(ctx, "move", key, err)
		}
	}
}
