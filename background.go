package acache

import (
	"context"
	"sync"
	"time"
)

// This file holds the work a Cache does behind its callers' backs (the
// refreshes of stale-while-revalidate): bounded in number, one per key, and
// stopped by Close.

// maxBackgroundRefreshes bounds the refreshes running at once; past it, a
// stale response is still served, and refreshed by a later request.
const maxBackgroundRefreshes = 64

// backgroundRefreshTimeout bounds one background refresh.
const backgroundRefreshTimeout = 30 * time.Second

// backgroundWork is what a Cache runs behind its callers' backs.
type backgroundWork struct {
	// mu guards closed and refreshing, and orders starting a job before
	// Close waits.
	mu     sync.Mutex
	closed bool
	// refreshing holds the keys whose refresh is running: one per key,
	// however long it takes (its own timeout bounds it).
	refreshing map[string]struct{}
	slots      chan struct{} // a token per job running
	running    sync.WaitGroup
	closing    context.Context // done at Close
	stop       context.CancelFunc
}

// claim records that key's refresh is starting, and reports false when one
// is running already.
func (b *backgroundWork) claim(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, running := b.refreshing[key]; running {
		return false
	}
	if b.refreshing == nil {
		b.refreshing = make(map[string]struct{})
	}
	b.refreshing[key] = struct{}{}
	return true
}

// release records that key's refresh has ended.
func (b *backgroundWork) release(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.refreshing, key)
}

// inBackground runs job in a goroutine of its own, with a context that
// carries the values of from (the caller's request context: an auth
// transport may need them) but not its cancellation, and ends at Close or
// after backgroundRefreshTimeout. It reports false, running nothing, after
// Close or when maxBackgroundRefreshes jobs are running.
func (b *backgroundWork) start(n *counters, from context.Context, job func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	select {
	case b.slots <- struct{}{}:
	default:
		return false
	}
	b.running.Add(1)
	go func() {
		defer b.running.Done()
		defer func() { <-b.slots }()
		var failed bool
		defer n.recovered("refresh", &failed)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(from), backgroundRefreshTimeout)
		defer cancel()
		defer context.AfterFunc(b.closing, cancel)()
		job(ctx)
	}()
	return true
}

// goFill runs fill, the reading of a body from the origin (fill.go), in a
// goroutine of its own, which Close waits for; closing is done at Close. It
// reports false, running nothing, after Close. Fills are not counted against
// maxBackgroundRefreshes: the in-flight budget, which each reserves whole
// before it starts, bounds them.
func (b *backgroundWork) goFill(n *counters, fill func(closing context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.running.Add(1)
	go func() {
		defer b.running.Done()
		var failed bool
		defer n.recovered("fill", &failed)
		fill(b.closing)
	}()
	return true
}
