package acache

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file checks the LRU's buffered recency (touch) and the consistency of
// its shards with its list.

// sameShardKeys returns n distinct keys that lie in one shard.
func sameShardKeys(n int) []string {
	var keys []string
	want := -1
	for i := 0; len(keys) < n; i++ {
		key := "GET https://example.com/shard/" + strconv.Itoa(i)
		if want == -1 {
			want = lruShardIndex(key)
		}
		if lruShardIndex(key) == want {
			keys = append(keys, key)
		}
	}
	return keys
}

// checkLRU checks that l's list, counts and shards agree: every node in the
// list is the one its shard holds under its key and still has its entry,
// every node the shards hold is in the list, Len and Size are the list's,
// and a shard's dirty bit is set exactly when its buffer holds touches. It
// locks l as a write does, so it may run while other goroutines use l.
func checkLRU(t *testing.T, l *lru) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	nodes, bytes := 0, int64(0)
	if l.root.next != nil {
		for n := l.root.next; n != &l.root; n = n.next {
			s := l.shard(n.key)
			s.mu.Lock()
			stored, entry := s.items[n.key], n.entry
			s.mu.Unlock()
			assert.Same(t, stored, n, "node %q in the list is not the one its shard holds", n.key)
			if assert.NotNil(t, entry, "node %q in the list lost its entry", n.key) {
				assert.Equal(t, entry.Size(), n.size, "size of %q", n.key)
			}
			require.Same(t, n, n.next.prev, "list broken after %q", n.key)
			nodes++
			bytes += n.size
		}
	}
	inShards := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		inShards += len(s.items)
		// The bit changes under the shard's lock, not under l.mu.
		dirty := l.dirty.Load()&(1<<i) != 0
		assert.Equal(t, s.nbuffered > 0, dirty, "dirty bit of shard %d with %d touches", i, s.nbuffered)
		s.mu.Unlock()
	}
	assert.Equal(t, nodes, l.count, "Len, against the nodes in the list")
	assert.Equal(t, nodes, inShards, "entries in the shards, against the nodes in the list")
	assert.Equal(t, bytes, l.bytes, "Size in bytes, against the nodes in the list")
}

// TestLRUTouch checks that a touch is seen by the next write, whichever
// shards the keys are in, and that a write leaves no touch buffered.
func TestLRUBufferedHit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := newLRU()
	set(t, l, "a", "b", "c")
	l.bufferHit("a")
	key, _, err := l.PopOldest(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", key, "a was touched after b was stored, so b is the oldest")
	assert.Zero(t, l.dirty.Load(), "a write applies every buffered touch")

	l.bufferHit("c")
	set(t, l, "d")
	l.bufferHit("a")
	require.NoError(t, l.MoveToEnd(ctx, "c"))
	assert.Equal(t, []string{"d", "a", "c"}, drain(t, l), "touches are applied before each write, MoveToEnd at once")
	checkLRU(t, l)
}

// TestLRUTouchOneShardExact: touches of keys in one shard, more of them than
// its buffer holds, give exactly the order MoveToEnd would.
func TestLRUBufferedHitsOneShardExact(t *testing.T) {
	t.Parallel()
	keys := sameShardKeys(100)
	l := newLRU()
	set(t, l, keys...)
	touched := slices.Clone(keys)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(touched), func(i, j int) { touched[i], touched[j] = touched[j], touched[i] })
	touched = touched[:80]
	for _, key := range touched {
		l.bufferHit(key)
	}
	var want []string
	for _, key := range keys {
		if !slices.Contains(touched, key) {
			want = append(want, key)
		}
	}
	want = append(want, touched...)
	assert.Equal(t, want, drain(t, l))
}

// TestLRUTouchFullBuffers: many more touches than all the buffers hold, over
// every shard, with no write between them: none is dropped, and the order
// of the keys of each shard is exactly the one MoveToEnd would give.
func TestLRUFullHitBuffers(t *testing.T) {
	t.Parallel()
	keys := benchKeys(1000)
	l := newLRU()
	set(t, l, keys...)
	want := slices.Clone(keys) // the order an exact LRU keeps
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3 * lruShardCount * lruHitBuffer {
		key := keys[rng.IntN(len(keys))]
		l.bufferHit(key)
		i := slices.Index(want, key)
		want = append(slices.Delete(want, i, i+1), key)
	}
	checkLRU(t, l)
	got := drain(t, l)
	require.ElementsMatch(t, keys, got)
	for shard := range lruShardCount {
		inShard := func(key string) bool { return lruShardIndex(key) != shard }
		assert.Equal(t, slices.DeleteFunc(slices.Clone(want), inShard), slices.DeleteFunc(slices.Clone(got), inShard), "order of the keys of shard %d", shard)
	}
}

// TestLRUTouchRemoved: a touch of a key that is not stored, or no longer is,
// does nothing, also when the node was removed while in a touch buffer, and a
// removed node does not keep its entry.
func TestLRUBufferedHitOfARemovedNode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := newLRU()
	l.bufferHit("never")
	assert.Zero(t, l.dirty.Load(), "a touch of a key never stored buffers nothing")

	set(t, l, "a", "b", "c")
	a := l.shard("a").items["a"]
	_, err := l.Pop(ctx, "a")
	require.NoError(t, err)
	assert.Nil(t, a.entry, "a popped node must not keep its entry alive")
	l.bufferHit("a")
	assert.Zero(t, l.dirty.Load(), "a touch of a popped key buffers nothing")

	// A touch recorded between the moment a Pop applied the buffers and the
	// moment it removed the node: the buffer then holds a removed node.
	b := l.shard("b").items["b"]
	l.bufferHit("b")
	l.mu.Lock()
	s := l.shard("b")
	s.mu.Lock()
	l.remove(s, b)
	s.mu.Unlock()
	l.mu.Unlock()
	assert.Contains(t, s.buffered[:s.nbuffered], b, "the buffer holds the removed node")
	assert.Nil(t, b.entry, "a removed node must not keep its entry alive")

	set(t, l, "d")
	assert.Equal(t, []string{"c", "d"}, drain(t, l), "the touch of a removed node must not bring it back")
	assert.Equal(t, [lruHitBuffer]*lruNode{}, s.buffered, "an applied buffer keeps no node alive")
	n, err := l.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	set(t, l, "e", "f")
	e := l.shard("e").items["e"]
	_, _, err = l.PopOldest(ctx)
	require.NoError(t, err)
	assert.Nil(t, e.entry, "a node PopOldest removed must not keep its entry alive")
	assert.Nil(t, e.prev, "a removed node is out of the list")
	checkLRU(t, l)
}

func TestLRUZeroValueBuffersHits(t *testing.T) {
	t.Parallel()
	var l lru
	l.bufferHit("a")
	checkLRU(t, &l)
	set(t, &l, "a", "b")
	l.bufferHit("a")
	assert.Equal(t, []string{"b", "a"}, drain(t, &l))
}

// TestLRUConcurrent runs every method from several goroutines at once, under
// -race, and checks while they run and after that the list, the counts and
// the shards agree.
func TestLRUConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	keys := benchKeys(300)
	l := newLRU()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 20000 {
				key := keys[rng.IntN(len(keys))]
				switch op := rng.IntN(10); op {
				case 0, 1, 2:
					l.bufferHit(key)
				case 3, 4:
					got, e, ref := l.getBytes([]byte(key))
					if e != nil {
						assert.Equal(t, key, got, "getBytes key")
						assert.Equal(t, key, e.Key, "getBytes entry")
						l.bufferHitRef(ref) // the node may be removed by now
					}
				case 5:
					_ = l.Set(ctx, key, &Entry{Key: key, Body: make([]byte, rng.IntN(100))})
				case 6:
					if e, _ := l.Pop(ctx, key); e != nil {
						assert.Equal(t, key, e.Key, "Pop")
					}
				case 7:
					if got, e, _ := l.PopOldest(ctx); e != nil {
						assert.Equal(t, got, e.Key, "PopOldest")
					}
				case 8:
					_ = l.MoveToEnd(ctx, key)
				case 9:
					_, _ = l.Get(ctx, key)
					_, _ = l.Contains(ctx, key)
					_, _, _ = l.Size(ctx)
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			checkLRU(t, l)
		}
	}
	checkLRU(t, l)
	n, err := l.Len(ctx)
	require.NoError(t, err)
	entries, _, err := l.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, entries, "Len and Size")
	assert.Len(t, drain(t, l), n, "entries PopOldest returns against Len")
}
