package acachetest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/acachecontrol/acache"
)

// ErrReleased is returned by a call that a [Fault] delayed or hung when
// [FaultyBackend.Release] ended the wait.
var ErrReleased = errors.New("acachetest: released")

// Op names a method of [acache.Backend].
type Op string

// The methods of [acache.Backend].
const (
	OpContains  Op = "Contains"
	OpLen       Op = "Len"
	OpGet       Op = "Get"
	OpSet       Op = "Set"
	OpPop       Op = "Pop"
	OpPopOldest Op = "PopOldest"
	OpMoveToEnd Op = "MoveToEnd"
)

// Fault is what a [FaultyBackend] does to calls of one method, in this order:
// Delay or Hang, then Panic, then Err; else the call goes to the inner backend
// and Corrupt rewrites what it returned.
type Fault struct {
	// Probability is the share of calls faulted. Zero means every call.
	Probability float64
	// Delay is how long to wait before the call. The wait ends early with
	// ctx.Err() when ctx is done, unless IgnoreContext is set.
	Delay time.Duration
	// Hang waits until ctx is done and returns ctx.Err(), or with
	// IgnoreContext until [FaultyBackend.Release]. Delay is then ignored.
	Hang bool
	// IgnoreContext makes Delay and Hang ignore ctx, like a badly behaved
	// backend.
	IgnoreContext bool
	// Panic, if not nil, is the value to panic with.
	Panic any
	// Err, if not nil, is returned without calling the inner backend.
	Err error
	// Corrupt, if not nil, replaces the entry that Get, Pop or PopOldest
	// returns, e.g. to change its body or header; a miss is left alone.
	// It is given a deep copy (see [CloneEntry]), which it may modify.
	Corrupt func(key string, e *acache.Entry) *acache.Entry
}

// waits reports whether ft waits before the call.
func (ft Fault) waits() bool { return ft.Delay > 0 || ft.Hang }

var _ acache.Backend = (*FaultyBackend)(nil)

// FaultyBackend wraps an [acache.Backend] and injects faults into calls of
// chosen methods. It is safe for concurrent use, and faults may be changed
// while it is in use. Create one with [NewFaultyBackend].
type FaultyBackend struct {
	inner       acache.Backend
	released    chan struct{} // closed by Release
	releaseOnce sync.Once

	// mu guards the maps below.
	mu     sync.Mutex
	faults map[Op]Fault
	calls  map[Op]int64
	hits   map[Op]int64 // calls a fault changed
}

// NewFaultyBackend returns a FaultyBackend that passes every call to inner
// until a fault is injected.
func NewFaultyBackend(inner acache.Backend) *FaultyBackend {
	return &FaultyBackend{
		inner:    inner,
		released: make(chan struct{}),
		faults:   make(map[Op]Fault),
		calls:    make(map[Op]int64),
		hits:     make(map[Op]int64),
	}
}

// Inject makes fault apply to later calls of op, replacing op's fault if it
// had one.
func (f *FaultyBackend) Inject(op Op, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = fault
}

// Clear removes op's fault.
func (f *FaultyBackend) Clear(op Op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.faults, op)
}

// ClearAll removes every fault.
func (f *FaultyBackend) ClearAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.faults)
}

// Release ends every Delay and Hang now, and makes later ones return at once;
// they return [ErrReleased]. Call it in t.Cleanup so that no goroutine stays
// blocked in a FaultyBackend.
func (f *FaultyBackend) Release() {
	f.releaseOnce.Do(func() { close(f.released) })
}

// Calls returns how many calls of op have been made.
func (f *FaultyBackend) Calls(op Op) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Faults returns how many calls of op a fault changed.
func (f *FaultyBackend) Faults(op Op) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[op]
}

// Contains implements [acache.Backend].
func (f *FaultyBackend) Contains(ctx context.Context, key string) (bool, error) {
	if _, err := f.before(ctx, OpContains); err != nil {
		return false, err
	}
	return f.inner.Contains(ctx, key)
}

// Len implements [acache.Backend].
func (f *FaultyBackend) Len(ctx context.Context) (int, error) {
	if _, err := f.before(ctx, OpLen); err != nil {
		return 0, err
	}
	return f.inner.Len(ctx)
}

// Get implements [acache.Backend].
func (f *FaultyBackend) Get(ctx context.Context, key string) (*acache.Entry, error) {
	ft, err := f.before(ctx, OpGet)
	if err != nil {
		return nil, err
	}
	e, err := f.inner.Get(ctx, key)
	return f.corrupt(OpGet, ft, key, e), err
}

// Set implements [acache.Backend].
func (f *FaultyBackend) Set(ctx context.Context, key string, e *acache.Entry) error {
	if _, err := f.before(ctx, OpSet); err != nil {
		return err
	}
	return f.inner.Set(ctx, key, e)
}

// Pop implements [acache.Backend].
func (f *FaultyBackend) Pop(ctx context.Context, key string) (*acache.Entry, error) {
	ft, err := f.before(ctx, OpPop)
	if err != nil {
		return nil, err
	}
	e, err := f.inner.Pop(ctx, key)
	return f.corrupt(OpPop, ft, key, e), err
}

// PopOldest implements [acache.Backend].
func (f *FaultyBackend) PopOldest(ctx context.Context) (string, *acache.Entry, error) {
	ft, err := f.before(ctx, OpPopOldest)
	if err != nil {
		return "", nil, err
	}
	key, e, err := f.inner.PopOldest(ctx)
	return key, f.corrupt(OpPopOldest, ft, key, e), err
}

// MoveToEnd implements [acache.Backend].
func (f *FaultyBackend) MoveToEnd(ctx context.Context, key string) error {
	if _, err := f.before(ctx, OpMoveToEnd); err != nil {
		return err
	}
	return f.inner.MoveToEnd(ctx, key)
}

// before counts a call of op, chooses whether to fault it and applies the
// parts of the fault that come before the inner call. It returns the fault
// for corrupt, or an error to return instead of calling the inner backend.
func (f *FaultyBackend) before(ctx context.Context, op Op) (Fault, error) {
	f.mu.Lock()
	f.calls[op]++
	ft, ok := f.faults[op]
	if ok && ft.Probability > 0 && rand.Float64() >= ft.Probability {
		ok = false
	}
	if ok && (ft.waits() || ft.Panic != nil || ft.Err != nil) {
		f.hits[op]++
	}
	f.mu.Unlock()
	if !ok {
		return Fault{}, nil
	}

	if ft.waits() {
		if err := f.wait(ctx, ft); err != nil {
			return Fault{}, err
		}
	}
	if ft.Panic != nil {
		panic(ft.Panic)
	}
	if ft.Err != nil {
		return Fault{}, ft.Err
	}
	return ft, nil
}

// wait waits as ft's Delay or Hang says.
func (f *FaultyBackend) wait(ctx context.Context, ft Fault) error {
	var done <-chan struct{}
	if !ft.IgnoreContext {
		done = ctx.Done()
	}
	var timeout <-chan time.Time
	if !ft.Hang {
		t := time.NewTimer(ft.Delay)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return nil
	case <-done:
		return ctx.Err()
	case <-f.released:
		return ErrReleased
	}
}

// corrupt returns e rewritten by ft.Corrupt, if ft has one and e is not nil.
func (f *FaultyBackend) corrupt(op Op, ft Fault, key string, e *acache.Entry) *acache.Entry {
	if ft.Corrupt == nil || e == nil {
		return e
	}
	if !ft.waits() { // else before counted the call already
		f.mu.Lock()
		f.hits[op]++
		f.mu.Unlock()
	}
	return ft.Corrupt(key, CloneEntry(e))
}

// CloneEntry returns a deep copy of e's exported fields: its header maps and
// their value slices, its body and its variants. It returns nil for nil.
//
// The copy carries none of what an [acache.Cache] derived from e, so a Cache
// derives it again from the copy's fields.
func CloneEntry(e *acache.Entry) *acache.Entry {
	if e == nil {
		return nil
	}
	c := &acache.Entry{
		Key:          e.Key,
		StatusCode:   e.StatusCode,
		Proto:        e.Proto,
		Header:       e.Header.Clone(),
		Body:         bytes.Clone(e.Body),
		VaryHeader:   e.VaryHeader.Clone(),
		RequestTime:  e.RequestTime,
		ResponseTime: e.ResponseTime,
		Credentials:  e.Credentials,
		Uncompressed: e.Uncompressed,
		Partitions:   slices.Clone(e.Partitions),
		FreshFor:     e.FreshFor,
		Version:      e.Version,
	}
	if e.Variants != nil {
		c.Variants = make([]*acache.Entry, len(e.Variants))
		for i, v := range e.Variants {
			c.Variants[i] = CloneEntry(v)
		}
	}
	return c
}
