package acache

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain pops every entry of l, oldest first, and returns their keys. It checks
// that each popped entry is the one stored under its key.
func drain(t *testing.T, l *LRU) []string {
	t.Helper()
	ctx := t.Context()
	var keys []string
	for {
		key, e, err := l.PopOldest(ctx)
		require.NoError(t, err)
		if e == nil {
			require.Empty(t, key)
			return keys
		}
		require.Equal(t, key, e.Key)
		keys = append(keys, key)
	}
}

// set stores a new entry under each key, in order, and returns them.
func set(t *testing.T, l *LRU, keys ...string) []*Entry {
	t.Helper()
	entries := make([]*Entry, len(keys))
	for i, key := range keys {
		entries[i] = &Entry{Key: key, StatusCode: 200}
		require.NoError(t, l.Set(t.Context(), key, entries[i]))
	}
	return entries
}

func TestLRUSetOrder(t *testing.T) {
	l := NewLRU()
	set(t, l, "a", "b", "c")
	assert.Equal(t, []string{"a", "b", "c"}, drain(t, l))
}

func TestLRUSetReplacesAndMovesToEnd(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	old := set(t, l, "a", "b", "c")
	repl := &Entry{Key: "a", StatusCode: 404}
	require.NoError(t, l.Set(ctx, "a", repl))

	n, err := l.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	got, err := l.Get(ctx, "a")
	require.NoError(t, err)
	assert.Same(t, repl, got)
	assert.NotSame(t, old[0], got)
	assert.Equal(t, []string{"b", "c", "a"}, drain(t, l))
}

func TestLRUMoveToEnd(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	set(t, l, "a", "b", "c", "d")
	require.NoError(t, l.MoveToEnd(ctx, "b"))
	require.NoError(t, l.MoveToEnd(ctx, "a"))
	require.NoError(t, l.MoveToEnd(ctx, "a")) // already the newest
	require.NoError(t, l.MoveToEnd(ctx, "x")) // absent: no-op
	assert.Equal(t, []string{"c", "d", "b", "a"}, drain(t, l))
}

func TestLRUGetAndContainsKeepRecency(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	set(t, l, "a", "b")
	_, err := l.Get(ctx, "a")
	require.NoError(t, err)
	_, err = l.Contains(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, drain(t, l))
}

func TestLRUPopOldestOrder(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	entries := set(t, l, "a", "b", "c")
	for i, want := range []string{"a", "b", "c"} {
		key, e, err := l.PopOldest(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, key)
		assert.Same(t, entries[i], e)
	}
	key, e, err := l.PopOldest(ctx)
	require.NoError(t, err)
	assert.Empty(t, key)
	assert.Nil(t, e)
}

func TestLRUPop(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	entries := set(t, l, "a", "b", "c")
	e, err := l.Pop(ctx, "b")
	require.NoError(t, err)
	assert.Same(t, entries[1], e)
	e, err = l.Pop(ctx, "b")
	require.NoError(t, err)
	assert.Nil(t, e)
	ok, err := l.Contains(ctx, "b")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, []string{"a", "c"}, drain(t, l))
}

func TestLRUStoresPointer(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	e := &Entry{Key: "a"}
	require.NoError(t, l.Set(ctx, "a", e))
	got, err := l.Get(ctx, "a")
	require.NoError(t, err)
	assert.Same(t, e, got)
}

func TestLRUZeroValue(t *testing.T) {
	ctx := t.Context()
	var l LRU

	// Every method works before the first Set.
	n, err := l.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	ok, err := l.Contains(ctx, "a")
	require.NoError(t, err)
	assert.False(t, ok)
	e, err := l.Get(ctx, "a")
	require.NoError(t, err)
	assert.Nil(t, e)
	e, err = l.Pop(ctx, "a")
	require.NoError(t, err)
	assert.Nil(t, e)
	require.NoError(t, l.MoveToEnd(ctx, "a"))
	key, e, err := l.PopOldest(ctx)
	require.NoError(t, err)
	assert.Empty(t, key)
	assert.Nil(t, e)

	set(t, &l, "a", "b")
	require.NoError(t, l.MoveToEnd(ctx, "a"))
	assert.Equal(t, []string{"b", "a"}, drain(t, &l))
}

func TestLRUIgnoresContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l := NewLRU()
	require.NoError(t, l.Set(ctx, "a", &Entry{Key: "a"}))
	e, err := l.Get(ctx, "a")
	require.NoError(t, err)
	assert.NotNil(t, e)
}

func TestLRUAllocs(t *testing.T) {
	ctx := t.Context()
	l := NewLRU()
	set(t, l, "a", "b", "c")
	e := &Entry{Key: "b"}
	for name, f := range map[string]func(){
		"Get":         func() { _, _ = l.Get(ctx, "a") },
		"Contains":    func() { _, _ = l.Contains(ctx, "a") },
		"Len":         func() { _, _ = l.Len(ctx) },
		"MoveToEnd":   func() { _ = l.MoveToEnd(ctx, "a") },
		"SetExisting": func() { _ = l.Set(ctx, "b", e) },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}

// benchKeys returns n distinct keys that look like cache keys.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "GET https://example.com/item/" + strconv.Itoa(i)
	}
	return keys
}

// filledLRU returns an LRU holding an entry for each of keys.
func filledLRU(keys []string) *LRU {
	l := NewLRU()
	for _, key := range keys {
		_ = l.Set(context.Background(), key, &Entry{Key: key})
	}
	return l
}

func BenchmarkLRUGet(b *testing.B) {
	const n = 1024
	ctx := context.Background()
	keys := benchKeys(n)
	l := filledLRU(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = l.Get(ctx, keys[i%n])
		i++
	}
}

// BenchmarkLRUHit measures what the Cache does on a hit: Get, then MoveToEnd.
func BenchmarkLRUHit(b *testing.B) {
	const n = 1024
	ctx := context.Background()
	keys := benchKeys(n)
	l := filledLRU(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := keys[i%n]
		_, _ = l.Get(ctx, key)
		_ = l.MoveToEnd(ctx, key)
		i++
	}
}

// BenchmarkLRUSetEvict measures storing a new entry in a full LRU: Set, then
// PopOldest, as the Cache does when it is at its limit.
func BenchmarkLRUSetEvict(b *testing.B) {
	const n = 1024
	ctx := context.Background()
	// With twice as many keys as the LRU holds, each Set stores a key that
	// was evicted n Sets before.
	keys := benchKeys(2 * n)
	l := filledLRU(keys[:n])
	e := &Entry{}
	b.ReportAllocs()
	i := n
	for b.Loop() {
		_ = l.Set(ctx, keys[i%(2*n)], e)
		_, _, _ = l.PopOldest(ctx)
		i++
	}
}

func BenchmarkLRUGetParallel(b *testing.B) {
	const n = 1024
	ctx := context.Background()
	keys := benchKeys(n)
	l := filledLRU(keys)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = l.Get(ctx, keys[i%n])
			i++
		}
	})
}
