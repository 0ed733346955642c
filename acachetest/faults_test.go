package acachetest_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

func TestFaultyBackendConformance(t *testing.T) {
	acachetest.TestBackend(t, func(t *testing.T) acache.Backend {
		f := acachetest.NewFaultyBackend(acache.NewLRU())
		t.Cleanup(f.Release)
		return f
	})
}

// newFaulty returns a FaultyBackend over an inner one that counts the calls
// it gets, and releases it when the test ends.
func newFaulty(t *testing.T) (f, inner *acachetest.FaultyBackend) {
	inner = acachetest.NewFaultyBackend(acache.NewLRU())
	f = acachetest.NewFaultyBackend(inner)
	t.Cleanup(f.Release)
	return f, inner
}

func testEntry(key string) *acache.Entry {
	return &acache.Entry{
		Key:        key,
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1",
		Header:     http.Header{"Etag": {`"1"`}, "Cache-Control": {"max-age=60"}},
		Body:       []byte("hello"),
	}
}

func TestFaultErr(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f, inner := newFaulty(t)
	require.NoError(t, f.Set(ctx, "a", testEntry("a")))
	for _, op := range []acachetest.Op{
		acachetest.OpContains, acachetest.OpLen, acachetest.OpGet, acachetest.OpSet,
		acachetest.OpPop, acachetest.OpPopOldest, acachetest.OpMoveToEnd,
	} {
		f.Inject(op, acachetest.Fault{Err: errBoom})
	}

	_, err := f.Contains(ctx, "a")
	assert.ErrorIs(t, err, errBoom, "Contains")
	_, err = f.Len(ctx)
	assert.ErrorIs(t, err, errBoom, "Len")
	e, err := f.Get(ctx, "a")
	assert.ErrorIs(t, err, errBoom, "Get")
	assert.Nil(t, e, "Get must return no entry with its error")
	assert.ErrorIs(t, f.Set(ctx, "b", testEntry("b")), errBoom, "Set")
	e, err = f.Pop(ctx, "a")
	assert.ErrorIs(t, err, errBoom, "Pop")
	assert.Nil(t, e, "Pop must return no entry with its error")
	key, e, err := f.PopOldest(ctx)
	assert.ErrorIs(t, err, errBoom, "PopOldest")
	assert.True(t, key == "" && e == nil, "PopOldest = (%q, %v) with its error; want (\"\", nil)", key, e)
	assert.ErrorIs(t, f.MoveToEnd(ctx, "a"), errBoom, "MoveToEnd")

	for _, op := range []acachetest.Op{
		acachetest.OpContains, acachetest.OpLen, acachetest.OpGet,
		acachetest.OpPop, acachetest.OpPopOldest, acachetest.OpMoveToEnd,
	} {
		assert.Zero(t, inner.Calls(op), "the inner backend got a call of %s that a fault replaced", op)
	}
	assert.Equal(t, int64(1), inner.Calls(acachetest.OpSet), "the inner backend must get only the Set made before the fault")

	f.ClearAll()
	n, err := f.Len(ctx)
	require.NoError(t, err, "Len after ClearAll")
	assert.Equal(t, 1, n, "the faulted calls must not have changed the inner backend")
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()
	f, inner := newFaulty(t)
	require.NoError(t, f.Set(t.Context(), "a", testEntry("a")))

	f.Inject(acachetest.OpGet, acachetest.Fault{Delay: 10 * time.Millisecond})
	e, err := f.Get(t.Context(), "a")
	require.NoError(t, err, "a short Delay must let the call through")
	assert.NotNil(t, e, "Get after a short Delay")

	f.Inject(acachetest.OpGet, acachetest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	e, err = f.Get(ctx, "a")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a Delay must end at the context's deadline")
	assert.Nil(t, e)
	assert.Equal(t, int64(1), inner.Calls(acachetest.OpGet), "a Delay cut short must not call the inner backend")
}

func TestFaultHang(t *testing.T) {
	t.Parallel()
	f, inner := newFaulty(t)
	f.Inject(acachetest.OpSet, acachetest.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := f.Set(ctx, "a", testEntry("a"))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a Hang must end with the context's error")
	assert.Error(t, ctx.Err(), "Set returned before the deadline")
	assert.Zero(t, inner.Calls(acachetest.OpSet), "a Hang must not call the inner backend")
}

func TestFaultIgnoreContext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault acachetest.Fault
	}{
		{"Hang", acachetest.Fault{Hang: true, IgnoreContext: true}},
		{"Delay", acachetest.Fault{Delay: time.Hour, IgnoreContext: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newFaulty(t)
			f.Inject(acachetest.OpGet, tc.fault)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := f.Get(ctx, "a")
				done <- err
			}()

			<-ctx.Done()
			select {
			case err := <-done:
				t.Fatalf("Get returned %v soon after its deadline; want it to block until Release", err)
			case <-time.After(100 * time.Millisecond):
			}
			f.Release()
			err := wait(t, done, "Get after Release")
			assert.ErrorIs(t, err, acachetest.ErrReleased, "Get ended by Release")

			// Later calls return at once.
			_, err = f.Get(context.Background(), "a")
			assert.ErrorIs(t, err, acachetest.ErrReleased, "Get after Release")
		})
	}
}

func TestFaultPanic(t *testing.T) {
	t.Parallel()
	f, inner := newFaulty(t)
	f.Inject(acachetest.OpMoveToEnd, acachetest.Fault{Panic: "backend exploded"})
	assert.PanicsWithValue(t, "backend exploded", func() { f.MoveToEnd(t.Context(), "a") })
	assert.Zero(t, inner.Calls(acachetest.OpMoveToEnd), "a Panic must not call the inner backend")
	assert.Equal(t, int64(1), f.Faults(acachetest.OpMoveToEnd), "Faults(MoveToEnd)")
}

func TestFaultCorrupt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	lru := acache.NewLRU()
	f := acachetest.NewFaultyBackend(lru)
	stored := testEntry("a")
	require.NoError(t, f.Set(ctx, "a", stored))
	want := acachetest.CloneEntry(stored)

	var keys []string
	corrupt := func(key string, e *acache.Entry) *acache.Entry {
		keys = append(keys, key)
		e.Body[0] = 'J'
		e.Header["Etag"][0] = `"2"`
		return e
	}
	for _, op := range []acachetest.Op{acachetest.OpGet, acachetest.OpPop, acachetest.OpPopOldest} {
		f.Inject(op, acachetest.Fault{Corrupt: corrupt})
	}

	got, err := f.Get(ctx, "a")
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "Jello", string(got.Body), "Get must return the corrupted body")
	assert.Equal(t, `"2"`, got.Header.Get("Etag"), "Get must return the corrupted header")
	inLRU, err := lru.Get(ctx, "a")
	require.NoError(t, err)
	assert.Same(t, stored, inLRU, "Corrupt must not replace the stored entry")
	assert.Equal(t, want, stored, "Corrupt must not modify the stored entry")

	_, err = f.Get(ctx, "missing")
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, keys, "Corrupt must get the key, and no call for a miss")
	assert.Equal(t, int64(2), f.Calls(acachetest.OpGet), "Calls(Get)")
	assert.Equal(t, int64(1), f.Faults(acachetest.OpGet), "Faults(Get) must not count a miss")

	got, err = f.Pop(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, "Jello", string(got.Body), "Pop must return the corrupted body")
	require.NoError(t, f.Set(ctx, "b", testEntry("b")))
	key, got, err := f.PopOldest(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", key)
	assert.Equal(t, "Jello", string(got.Body), "PopOldest must return the corrupted body")
	assert.Equal(t, []string{"a", "a", "b"}, keys, "the keys Corrupt got")

	f.Inject(acachetest.OpGet, acachetest.Fault{Delay: time.Millisecond, Corrupt: corrupt})
	require.NoError(t, f.Set(ctx, "c", testEntry("c")))
	got, err = f.Get(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, "Jello", string(got.Body), "Get after a Delay must return the corrupted body")
	assert.Equal(t, int64(2), f.Faults(acachetest.OpGet), "Faults(Get) must count a call both delayed and corrupted once")
}

func TestFaultProbability(t *testing.T) {
	t.Parallel()
	const calls = 1000
	f, inner := newFaulty(t)
	f.Inject(acachetest.OpLen, acachetest.Fault{Probability: 0.5, Err: errBoom})
	var failed int64
	for range calls {
		if _, err := f.Len(t.Context()); err != nil {
			failed++
		}
	}
	// The chance of falling outside these bounds is about 1e-21.
	assert.True(t, failed > 350 && failed < 650, "%d of %d calls faulted at Probability 0.5", failed, calls)
	assert.Equal(t, int64(calls), f.Calls(acachetest.OpLen), "Calls(Len)")
	assert.Equal(t, failed, f.Faults(acachetest.OpLen), "Faults(Len)")
	assert.Equal(t, calls-failed, inner.Calls(acachetest.OpLen), "calls that reached the inner backend")
}

func TestFaultyBackendCounts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f, _ := newFaulty(t)
	f.Inject(acachetest.OpContains, acachetest.Fault{Err: errBoom})
	f.Inject(acachetest.OpLen, acachetest.Fault{Err: errBoom})
	for range 3 {
		f.Contains(ctx, "a")
		f.Len(ctx)
	}
	f.Clear(acachetest.OpContains)
	f.Contains(ctx, "a")
	f.Inject(acachetest.OpLen, acachetest.Fault{}) // replaces the Err with nothing
	_, err := f.Len(ctx)
	assert.NoError(t, err, "Len after its fault was replaced")

	for _, tc := range []struct {
		op            acachetest.Op
		calls, faults int64
	}{
		{acachetest.OpContains, 4, 3},
		{acachetest.OpLen, 4, 3},
		{acachetest.OpGet, 0, 0},
	} {
		assert.Equal(t, tc.calls, f.Calls(tc.op), "Calls(%s)", tc.op)
		assert.Equal(t, tc.faults, f.Faults(tc.op), "Faults(%s)", tc.op)
	}
}

// TestFaultyBackendConcurrentInject changes faults while calls are made; run
// it with -race.
func TestFaultyBackendConcurrentInject(t *testing.T) {
	t.Parallel()
	f, _ := newFaulty(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				f.Set(t.Context(), "a", testEntry("a"))
				f.Get(t.Context(), "a")
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			f.Inject(acachetest.OpGet, acachetest.Fault{Err: errBoom, Probability: 0.5})
			f.Inject(acachetest.OpSet, acachetest.Fault{Delay: time.Duration(i % 2)})
			f.Clear(acachetest.OpGet)
			f.Faults(acachetest.OpGet)
			if i%50 == 0 {
				f.ClearAll()
			}
		}
	})
	wg.Wait()
	assert.Equal(t, int64(800), f.Calls(acachetest.OpGet), "Calls(Get)")
}

func TestCloneEntry(t *testing.T) {
	t.Parallel()
	assert.Nil(t, acachetest.CloneEntry(nil), "CloneEntry(nil)")

	e := testEntry("a")
	e.VaryHeader = http.Header{"Accept-Language": {"en"}}
	e.RequestTime = time.Unix(1700000000, 0)
	e.ResponseTime = e.RequestTime.Add(time.Second)
	e.Variants = []*acache.Entry{testEntry("a"), nil}
	e.Credentials = "hash"
	e.Uncompressed = true
	e.Partitions = []string{"a\x00auth=0123"}
	e.FreshFor = time.Minute
	e.Version = 42
	want := acachetest.CloneEntry(e)
	require.Equal(t, e, want, "the clone must equal the original")

	// Every exported field is set above and copied, so a field added to
	// Entry but not to CloneEntry fails here.
	ev, cv := reflect.ValueOf(e).Elem(), reflect.ValueOf(want).Elem()
	for i := range ev.NumField() {
		if f := ev.Type().Field(i); f.IsExported() {
			require.False(t, ev.Field(i).IsZero(), "Entry.%s is not set in this test; set it, and copy it in CloneEntry", f.Name)
			require.Equal(t, ev.Field(i).Interface(), cv.Field(i).Interface(), "CloneEntry must copy Entry.%s", f.Name)
		}
	}

	c := acachetest.CloneEntry(e)
	c.Header["Etag"][0] = "changed"
	c.Header.Set("X-New", "1")
	c.Body[0] = 'J'
	c.VaryHeader["Accept-Language"][0] = "fr"
	c.Variants[0].Body[0] = 'J'
	c.Variants[0].Header["Etag"][0] = "changed"
	c.Variants[1] = testEntry("b")
	assert.Equal(t, want, e, "changing the clone must leave the original alone")

	empty := acachetest.CloneEntry(&acache.Entry{Key: "k"})
	assert.True(t, empty.Header == nil && empty.Body == nil && empty.VaryHeader == nil && empty.Variants == nil,
		"nil fields must stay nil: %+v", empty)
}
