package acache

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The behaviour every Backend shares (recency order, replacing, popping) is
// checked by the conformance suite in lru_conformance_test.go, on a new and
// on a zero LRU; this file checks what is particular to the LRU.

// drain pops every entry of l, oldest first, and returns their keys. It checks
// that each popped entry is the one stored under its key.
func drain(t *testing.T, l *lru) []string {
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
func set(t *testing.T, l *lru, keys ...string) []*Entry {
	t.Helper()
	entries := make([]*Entry, len(keys))
	for i, key := range keys {
		entries[i] = &Entry{Key: key, StatusCode: 200}
		require.NoError(t, l.Set(t.Context(), key, entries[i]))
	}
	return entries
}

// TestLRUStoresPointer checks what the LRU promises beyond the Backend
// contract: it stores the *Entry it is given, not a copy, and hands that same
// pointer back from Get, Pop and PopOldest, also after a replacement.
func TestLRUStoresPointer(t *testing.T) {
	ctx := t.Context()
	l := newLRU()
	e := &Entry{Key: "a"}
	require.NoError(t, l.Set(ctx, "a", e))
	got, err := l.Get(ctx, "a")
	require.NoError(t, err)
	assert.Same(t, e, got)

	entries := set(t, l, "b", "c", "d")
	repl := &Entry{Key: "a", StatusCode: 404}
	require.NoError(t, l.Set(ctx, "a", repl))
	got, err = l.Get(ctx, "a")
	require.NoError(t, err)
	assert.Same(t, repl, got, "Get after Set replaced the entry")
	assert.NotSame(t, e, got, "Get after Set replaced the entry")

	got, err = l.Pop(ctx, "c")
	require.NoError(t, err)
	assert.Same(t, entries[1], got, "Pop")
	for _, want := range []*Entry{entries[0], entries[2], repl} {
		key, got, err := l.PopOldest(ctx)
		require.NoError(t, err)
		assert.Same(t, want, got, "PopOldest returned key %q", key)
	}
}

func TestLRUZeroValue(t *testing.T) {
	ctx := t.Context()
	var l lru

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

// TestLRUIgnoresContext checks what the LRU's documentation promises: it
// ignores the context, so a context that is done skips no store, no eviction
// and no lookup, and no method returns an error for it.
func TestLRUIgnoresContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancelExpired := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancelExpired()
	for name, ctx := range map[string]context.Context{"cancelled": cancelled, "past its deadline": expired} {
		t.Run(name, func(t *testing.T) {
			l := newLRU()
			a, b := &Entry{Key: "a"}, &Entry{Key: "b"}
			require.NoError(t, l.Set(ctx, "a", a), "Set")
			require.NoError(t, l.Set(ctx, "b", b), "Set")
			n, err := l.Len(ctx)
			require.NoError(t, err, "Len")
			assert.Equal(t, 2, n, "Set under a context that is done must still store")
			ok, err := l.Contains(ctx, "a")
			require.NoError(t, err, "Contains")
			assert.True(t, ok, "Contains")
			got, err := l.Get(ctx, "a")
			require.NoError(t, err, "Get")
			assert.Same(t, a, got, "Get under a context that is done must still find the entry")
			require.NoError(t, l.MoveToEnd(ctx, "a"), "MoveToEnd")
			key, got, err := l.PopOldest(ctx)
			require.NoError(t, err, "PopOldest")
			assert.Equal(t, "b", key, "MoveToEnd under a context that is done must still make the entry the newest")
			assert.Same(t, b, got, "PopOldest")
			got, err = l.Pop(ctx, "a")
			require.NoError(t, err, "Pop")
			assert.Same(t, a, got, "Pop under a context that is done must still remove the entry")
			n, err = l.Len(ctx)
			require.NoError(t, err, "Len")
			assert.Zero(t, n, "Len after popping both entries")
		})
	}
}

func TestLRUAllocs(t *testing.T) {
	ctx := t.Context()
	l := newLRU()
	set(t, l, "a", "b", "c")
	e := &Entry{Key: "b"}
	key := []byte("c")
	for name, f := range map[string]func(){
		"Get":         func() { _, _ = l.Get(ctx, "a") },
		"getBytes":    func() { _, _, _ = l.getBytes(key) },
		"touch":       func() { l.bufferHit("a"); l.bufferHit("b") },
		"touchRef":    func() { _, _, ref := l.getBytes(key); l.bufferHitRef(ref) },
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
func filledLRU(keys []string) *lru {
	l := newLRU()
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

// byteKeys returns keys as byte slices, as the Cache looks them up.
func byteKeys(keys []string) [][]byte {
	b := make([][]byte, len(keys))
	for i, key := range keys {
		b[i] = []byte(key)
	}
	return b
}

// BenchmarkLRUHit measures what the Cache does on a hit: getBytes, then
// touchRef.
func BenchmarkLRUHit(b *testing.B) {
	const n = 1024
	keys := benchKeys(n)
	bkeys := byteKeys(keys)
	l := filledLRU(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _, ref := l.getBytes(bkeys[i%n])
		l.bufferHitRef(ref)
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

// BenchmarkLRUHitParallel is BenchmarkLRUHit from every core, over 1,024
// keys: what the LRU's locks cost when hits run in parallel.
func BenchmarkLRUHitParallel(b *testing.B) {
	const n = 1024
	keys := benchKeys(n)
	bkeys := byteKeys(keys)
	l := filledLRU(keys)
	b.ReportAllocs()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			_, _, ref := l.getBytes(bkeys[i%n])
			l.bufferHitRef(ref)
			i++
		}
	})
}

// BenchmarkLRUHitExactParallel is BenchmarkLRUHitParallel through the
// exported methods, Get then MoveToEnd, which apply recency at once under
// the LRU's one lock: what the buffering of touches saves.
func BenchmarkLRUHitExactParallel(b *testing.B) {
	const n = 1024
	ctx := context.Background()
	keys := benchKeys(n)
	l := filledLRU(keys)
	b.ReportAllocs()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			key := keys[i%n]
			_, _ = l.Get(ctx, key)
			_ = l.MoveToEnd(ctx, key)
			i++
		}
	})
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

// TestLRUOrderAcrossShards: the recency order is exact over every shard: after
// storing 1,000 keys and using them again in a shuffled order, PopOldest
// returns them in exactly that order.
func TestLRUOrderAcrossShards(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := newLRU()
	keys := benchKeys(1000)
	set(t, l, keys...)
	used := slices.Clone(keys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(used), func(i, j int) { used[i], used[j] = used[j], used[i] })
	for _, key := range used[:500] {
		require.NoError(t, l.MoveToEnd(ctx, key))
	}
	want := append(slices.Clone(used[500:]), used[:500]...)
	// The keys never used again keep the order they were stored in.
	slices.SortStableFunc(want[:500], func(a, b string) int {
		return slices.Index(keys, a) - slices.Index(keys, b)
	})
	assert.Equal(t, want, drain(t, l))
	n, _ := l.Len(ctx)
	assert.Zero(t, n)
	entries, bytes, _ := l.Size(ctx)
	assert.Zero(t, entries)
	assert.Zero(t, bytes)
}
