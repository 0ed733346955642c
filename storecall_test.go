package acache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// backendCallLiveness bounds how long anything here may take that should be
// at once: far above any real delay, so that it fails only on a hang.
const backendCallLiveness = 10 * time.Second

// received returns what ch delivers within d, and whether it did.
func received[T any](ch <-chan T, d time.Duration) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-time.After(d):
		var zero T
		return zero, false
	}
}

func TestKeyLocksSerialiseOneKeyNotTwo(t *testing.T) {
	t.Parallel()
	var k keyLocks // the zero value is ready to use
	unlockA := k.lock("a")

	second := make(chan func())
	go func() { second <- k.lock("a") }()
	if unlock, ok := received(second, 50*time.Millisecond); ok {
		unlock()
		t.Fatal("a second lock of key a was granted while the first was held")
	}

	other := make(chan func())
	go func() { other <- k.lock("b") }()
	unlockB, ok := received(other, backendCallLiveness)
	require.True(t, ok, "locking key b waited for key a")
	unlockB()

	unlockA()
	unlock, ok := received(second, backendCallLiveness)
	require.True(t, ok, "unlocking key a did not let its waiter in")
	unlock()

	k.mu.Lock()
	defer k.mu.Unlock()
	assert.Empty(t, k.locks, "a lock is kept for a key nobody holds or waits for")
}

func TestKeyLocksUnderContention(t *testing.T) {
	t.Parallel()
	var k keyLocks
	var holders [3]atomic.Int32
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			for range 200 {
				key := g % len(holders)
				unlock := k.lock(string(rune('a' + key)))
				if n := holders[key].Add(1); n != 1 {
					t.Errorf("%d callers hold the lock of one key at once", n)
				}
				holders[key].Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	assert.Empty(t, k.locks, "locks kept after every caller unlocked")
}

// noGoroutineLeft fails t if a goroutine that opt does not ignore is still
// running after backendCallLiveness. goleak's own retries end after half a
// second, less than a loaded machine may take to end a goroutine that has
// just freed its slot.
func noGoroutineLeft(t *testing.T, opt goleak.Option) {
	t.Helper()
	err := goleak.Find(opt)
	for deadline := time.Now().Add(backendCallLiveness); err != nil && time.Now().Before(deadline); {
		err = goleak.Find(opt)
	}
	if err != nil {
		t.Error(err)
	}
}

// detachedCache returns a Cache that waits timeout for its backend and logs
// into logs.
func detachedCache(timeout time.Duration, logs *logBuffer) *Cache {
	return NewCache(nil, WithBackendTimeout(timeout), WithLogger(logs.logger()))
}

// waitForJobs waits until no job of c holds a slot.
func waitForJobs(t *testing.T, c *Cache) {
	t.Helper()
	deadline := time.Now().Add(backendCallLiveness)
	for len(c.jobs) > 0 {
		require.True(t, time.Now().Before(deadline), "%d jobs still hold a slot after they were released", len(c.jobs))
		time.Sleep(time.Millisecond)
	}
}

// assertLogged checks that every record in logs reports a failure of op whose
// error contains errText.
func assertLogged(t *testing.T, logs *logBuffer, n int, op, errText string) {
	t.Helper()
	records := logs.records(t)
	require.Len(t, records, n, "log records")
	for _, r := range records {
		assert.Equal(t, op, r["op"], "the op in %v", r)
		assert.Contains(t, r["err"], errText, "the error in %v", r)
	}
}

// The tests of detached are not parallel: each ends by checking that no
// goroutine it started is left, which needs no other test running.

func TestDetachedJobThatFinishes(t *testing.T) {
	defer noGoroutineLeft(t, goleak.IgnoreCurrent())
	var logs logBuffer
	c := detachedCache(time.Hour, &logs)
	wrote := 0
	ok := c.detached(t.Context(), "get", nil, func() { wrote = 1 })
	assert.True(t, ok, "detached of a job that returns at once")
	assert.Equal(t, 1, wrote, "what the job wrote, readable once detached reported true")
	assert.Zero(t, c.Stats().Errors, "failures counted")
	assert.Empty(t, logs.records(t), "failures logged")
	waitForJobs(t, c)
}

func TestDetachedJobThatBlocks(t *testing.T) {
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name     string
		cacheFor time.Duration // the backend timeout
		callerIn time.Duration // the caller's deadline, if not 0
		errText  string
	}{
		{"ends at the backend timeout", timeout, 0, errBackendTimeout.Error()},
		{"ends at the caller's deadline", time.Hour, timeout, context.DeadlineExceeded.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer noGoroutineLeft(t, goleak.IgnoreCurrent())
			var logs logBuffer
			c := detachedCache(tc.cacheFor, &logs)
			ctx := t.Context()
			// The stopwatch starts before the deadline is set: a deadline
			// counts from when it is set, and a loaded machine may take
			// a while between the two.
			start := time.Now()
			if tc.callerIn > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.callerIn)
				defer cancel()
			}
			release := make(chan struct{})
			var ended atomic.Bool
			ok := c.detached(ctx, "get", nil, func() {
				<-release
				ended.Store(true)
			})
			elapsed := time.Since(start)
			assert.False(t, ok, "detached of a job that blocks")
			assert.GreaterOrEqual(t, elapsed, timeout, "detached returned before the wait ended")
			assert.Less(t, elapsed, backendCallLiveness, "detached kept its caller past the wait")
			assert.False(t, ended.Load(), "the job ended although it was blocked")
			assert.EqualValues(t, 1, c.Stats().Errors, "the timeout is counted")
			assertLogged(t, &logs, 1, "get", tc.errText)
			assert.Contains(t, logs.records(t)[0]["err"], errBackendTimeout.Error(), "the log names a backend timeout")

			close(release) // the backend answers at last
			waitForJobs(t, c)
			assert.True(t, ended.Load(), "the job ran on once its caller stopped waiting")
		})
	}
}

func TestDetachedCallerAlreadyDone(t *testing.T) {
	defer noGoroutineLeft(t, goleak.IgnoreCurrent())
	var logs logBuffer
	c := detachedCache(time.Hour, &logs)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	release := make(chan struct{})
	start := time.Now()
	ok := c.detached(ctx, "move", nil, func() { <-release })
	assert.False(t, ok, "detached for a caller whose context is done")
	assert.Less(t, time.Since(start), backendCallLiveness, "detached waited for a caller that had gone")
	assertLogged(t, &logs, 1, "move", context.Canceled.Error())
	close(release)
	waitForJobs(t, c)
}

func TestDetachedJobThatPanics(t *testing.T) {
	defer noGoroutineLeft(t, goleak.IgnoreCurrent())
	var logs logBuffer
	c := detachedCache(time.Hour, &logs)
	assert.NotPanics(t, func() { c.detached(t.Context(), "store", nil, func() { panic("backend exploded") }) },
		"a panic in a backend job reached the caller")
	assert.EqualValues(t, 1, c.Stats().Errors, "the panic is counted")
	assertLogged(t, &logs, 1, "store", "backend exploded")
	waitForJobs(t, c)
}

func TestDetachedWithEverySlotTaken(t *testing.T) {
	defer noGoroutineLeft(t, goleak.IgnoreCurrent())
	var logs logBuffer
	c := detachedCache(time.Hour, &logs)

	// Fill every slot with a job that blocks; each caller gives up at its
	// own deadline and leaves its job holding a slot.
	release := make(chan struct{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var finished atomic.Int32
	for range maxBackendJobs {
		wg.Go(func() {
			if c.detached(ctx, "get", nil, func() { <-release }) {
				finished.Add(1)
			}
		})
	}
	wg.Wait()
	require.Zero(t, finished.Load(), "a blocked job was reported finished")
	require.Equal(t, maxBackendJobs, len(c.jobs), "slots held by blocked jobs")

	// The next job is refused at once, without running, although the
	// backend timeout is an hour and the caller has no deadline.
	var ran atomic.Bool
	start := time.Now()
	ok := c.detached(context.Background(), "get", nil, func() { ran.Store(true) })
	assert.False(t, ok, "detached with every slot taken")
	assert.Less(t, time.Since(start), backendCallLiveness, "detached waited for a slot")
	assert.False(t, ran.Load(), "a job ran beyond maxBackendJobs")
	records := logs.records(t)
	require.Len(t, records, maxBackendJobs+1, "log records: a timeout per blocked job, then the refusal")
	assert.Equal(t, errBackendBusy.Error(), records[maxBackendJobs]["err"], "the refusal is logged as such")
	assert.EqualValues(t, maxBackendJobs+1, c.Stats().Errors, "failures counted")

	// Once the backend answers, the slots are free again.
	close(release)
	waitForJobs(t, c)
	assert.True(t, c.detached(t.Context(), "get", nil, func() {}), "detached after the blocked jobs ended")
	waitForJobs(t, c)
}

// TestDetachedThroughTheCache checks detached where the Cache uses it: a
// lookup in a backend that hangs is a miss at the backend timeout, and the
// caller's request goes on.
func TestDetachedThroughTheCache(t *testing.T) {
	defer noGoroutineLeft(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	var logs logBuffer
	c := NewCache(hangingGets{lru: newLRU(), release: release}, WithBackendTimeout(50*time.Millisecond), WithLogger(logs.logger()))
	start := time.Now()
	e, _ := c.lookup(t.Context(), nil, "GET http://example.test/", nil)
	assert.Nil(t, e, "a lookup that timed out")
	assert.Less(t, time.Since(start), backendCallLiveness, "the lookup kept its caller past the backend timeout")
	assertLogged(t, &logs, 1, "get", errBackendTimeout.Error())
	close(release)
	waitForJobs(t, c)
}

// hangingGets is an LRU whose Get blocks, whatever its context says, until
// release is closed.
type hangingGets struct {
	*lru
	release chan struct{}
}

func (b hangingGets) Get(ctx context.Context, key string) (*Entry, error) {
	<-b.release
	return b.lru.Get(ctx, key)
}
