package acache

import (
	"context"
	"sync"
)

// maxQueuedMoves bounds the recency updates waiting to be sent; past it,
// a hit's update is dropped (the entry only ages a little early).
const maxQueuedMoves = 4096

// moveQueue holds the keys of hits whose recency update (MoveToEnd) the
// backend has not received yet. One goroutine at a time sends them, one by
// one under the backend timeout, and ends when the queue is empty: a hit
// never starts a goroutine of its own that could pile up behind a slow
// backend, and a backend that hangs holds one goroutine and a bounded queue.
type moveQueue struct {
	mu      sync.Mutex
	keys    []string
	sending bool // a goroutine is sending the queue
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
		go q.send(s)
	}
}

// send sends the queued moves until the queue is empty.
func (q *moveQueue) send(s *store) {
	var batch []string
	for {
		q.mu.Lock()
		if len(q.keys) == 0 {
			q.sending = false
			q.mu.Unlock()
			return
		}
		batch, q.keys = q.keys, batch[:0]
		q.mu.Unlock()
		for _, key := range batch {
			s.sendMove(key)
		}
		clear(batch)
	}
}

// sendMove sends one recency update under the backend timeout, reporting
// a failure or a panic.
func (s *store) sendMove(key string) {
	var failed bool
	defer s.n.recovered("move", &failed)
	ctx, cancel := s.callContext(context.Background(), "move")
	defer cancel()
	if err := s.backend.MoveToEnd(ctx, key); err != nil {
		s.fail(ctx, "move", key, err)
	}
}
