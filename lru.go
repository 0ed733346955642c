package acache

import (
	"context"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

var (
	_ Backend = (*lru)(nil)
	_ Sizer   = (*lru)(nil)
)

const (
	// lruShardCount is the number of shards of an LRU's index: a power of
	// two, so that a hash picks one with a mask, and at most 64, so that
	// LRU.dirty has a bit for each.
	lruShardCount = 64
	// lruHitBuffer is how many hits a shard buffers before the hit that
	// finds its buffer full takes the LRU's lock to apply them.
	lruHitBuffer = 32
)

// lruSeed seeds the hash that picks a key's shard.
var lruSeed = maphash.MakeSeed()

// lru is the in-memory Backend that NewLRU returns; its documentation is
// there. The zero value is an empty lru ready to use; it must not be copied
// after first use.
//
// Lookups lock one of 64 shards of the index; the writes, Len and Size take
// the lru's one lock. A hit's recency is buffered in its key's shard (up to
// 32 hits) and applied, in the shard's order, before every write and by the
// hit that finds the buffer full: PopOldest sees every hit recorded before
// it began, and hits of different shards since the last write are applied
// shard by shard, not in the order they happened. Applying them costs at
// most 64×32 moves in one write, one for each buffered hit.
type lru struct {
	// shards index the nodes by key. It comes first so that the last shard's
	// padding keeps mu, which every write takes, off the shards' cache lines.
	shards [lruShardCount]lruShard
	// dirty has bit i set while shards[i] has buffered hits. It is set and
	// cleared under that shard's mu, and read without it to find the shards a
	// write must apply.
	dirty atomic.Uint64

	// mu guards root, count and bytes, and the prev and next of every node.
	// It is taken before a shard's mu, never while holding one.
	mu sync.Mutex
	// root is the sentinel of a circular doubly-linked list of the stored
	// nodes: root.next is the oldest node and root.prev the newest. Both are
	// &root when the list is empty, and nil before the first use of a zero LRU.
	root lruNode
	// count is the number of nodes in the list.
	count int
	// bytes is the sum of the sizes of the nodes in the list.
	bytes int64
	// indexes are the partition indexes that Commit keeps (lrucommit.go),
	// guarded by mu.
	indexes lruIndexes
}

// lruShard is one shard of an LRU's index.
type lruShard struct {
	// mu guards items, buffered and nbuffered, and the entry of every node in
	// items. A node is added to or deleted from items only with the LRU's mu
	// held as well, so that the map agrees with the list under either lock.
	mu    sync.Mutex
	items map[string]*lruNode
	// buffered[:nbuffered] are the nodes hit since the shard's buffer was last
	// applied, oldest first. A node may have been removed since; it is then
	// skipped.
	buffered  [lruHitBuffer]*lruNode
	nbuffered int
	// The padding keeps two shards' fields at least a cache line apart,
	// whatever the alignment of the array, so that hits on different shards
	// do not contend for one cache line.
	_ [64]byte
}

// lruNode is an element of an LRU's list.
type lruNode struct {
	prev, next *lruNode // guarded by the LRU's mu; both nil once removed
	key        string   // never changes
	entry      *Entry   // guarded by the shard's mu; nil once removed
	size       int64    // entry.Size() when it was set; guarded by the LRU's mu
}

// NewLRU returns an empty in-memory Backend, the one [NewCache] makes when
// given nil: entries in recency order, safe for concurrent use, every method
// in constant time (amortized for the writes). It also implements [Sizer].
//
// It stores the *Entry it is given, not a copy, and returns that same
// pointer from Get, Pop and PopOldest; it never blocks, so the Cache calls
// it directly, without deadlines or a circuit breaker, and its errors are
// always nil. It has no limits of its own: the Cache owns eviction and
// calls PopOldest while the store is over its limits. Several Caches may
// share one, each bounded by its own limits for the whole store (its
// Size): make it once and pass it to each.
//
// A Cache's hit on it locks one of 64 shards of its index, and records the
// hit's recency without taking its one lock; see the README's Performance
// section.
func NewLRU() Backend { return newLRU() }

// newLRU returns an empty lru.
func newLRU() *lru {
	l := new(lru)
	l.init()
	return l
}

// init makes a zero LRU ready to use. It must be called with l.mu held.
func (l *lru) init() {
	if l.root.next == nil {
		l.root.prev = &l.root
		l.root.next = &l.root
	}
}

// lruShardIndex returns the index of the shard that holds key.
func lruShardIndex(key string) int {
	return int(maphash.String(lruSeed, key) & (lruShardCount - 1))
}

// shard returns the shard that holds key.
func (l *lru) shard(key string) *lruShard {
	return &l.shards[lruShardIndex(key)]
}

// unlink removes n from the list. It must be called with l.mu held.
func (l *lru) unlink(n *lruNode) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

// pushBack inserts n as the newest node. It must be called with l.mu held.
func (l *lru) pushBack(n *lruNode) {
	n.prev = l.root.prev
	n.next = &l.root
	n.prev.next = n
	l.root.prev = n
}

// moveToBack makes n, which is in the list, the newest node. It must be
// called with l.mu held.
func (l *lru) moveToBack(n *lruNode) {
	if n != l.root.prev {
		l.unlink(n)
		l.pushBack(n)
	}
}

// bufferHit marks the entry stored under key as recently used, and does nothing
// if there is none. It is what a [Cache] does on a hit in place of MoveToEnd:
// it locks only key's shard and appends the node to the shard's buffer, which
// is applied to the list before the next write (Set, Pop, PopOldest or
// MoveToEnd) or, when the buffer is full, by the bufferHit that finds it full,
// which then takes l.mu (once every 32 hits on a shard) and tries again. No
// bufferHit is dropped. A bufferHit is thus exact with respect to every write that
// begins after it returns, and to other hits of its shard; only its order
// against hits in other shards since the last write is approximate.
func (l *lru) bufferHit(key string) {
	i := lruShardIndex(key)
	s := &l.shards[i]
	s.mu.Lock()
	n := s.items[key]
	s.mu.Unlock()
	if n != nil {
		l.bufferHitRef(lruRef{n, uint8(i)})
	}
}

// lruRef is a node as a lookup found it, with the index of its shard: a
// buffered hit of it needs neither the key's hash nor a map lookup.
type lruRef struct {
	node  *lruNode
	shard uint8
}

// bufferHitRef is bufferHit for the node a lookup found (getBytes). The node may
// have been removed since: it is then skipped when the buffer is applied.
func (l *lru) bufferHitRef(ref lruRef) {
	i, n := int(ref.shard), ref.node
	s := &l.shards[i]
	for {
		s.mu.Lock()
		switch {
		case s.nbuffered > 0 && s.buffered[s.nbuffered-1] == n:
			// Applying the same node twice in a row moves it once: a hot
			// key's hits need not fill the buffer.
			s.mu.Unlock()
			return
		case s.nbuffered < lruHitBuffer:
			s.buffered[s.nbuffered] = n
			s.nbuffered++
			if s.nbuffered == 1 {
				l.dirty.Or(uint64(1) << i)
			}
			s.mu.Unlock()
			return
		}
		// The buffer is full: apply it, keeping the lock order (l.mu first).
		s.mu.Unlock()
		l.mu.Lock()
		l.applyShard(i)
		l.mu.Unlock()
	}
}

// applyShard moves the nodes that shard i has buffered to the back of the
// list, in the order they were hit, skipping those removed since, and
// empties the buffer. It must be called with l.mu held and shard i unlocked.
func (l *lru) applyShard(i int) {
	s := &l.shards[i]
	s.mu.Lock()
	for _, n := range s.buffered[:s.nbuffered] {
		if n.prev != nil {
			l.moveToBack(n)
		}
	}
	clear(s.buffered[:s.nbuffered]) // a removed node is not kept alive
	s.nbuffered = 0
	l.dirty.And(^(uint64(1) << i))
	s.mu.Unlock()
}

// applyBufferedHits applies the buffered hits of every shard that has some
// (at most lruShardCount × lruHitBuffer moves), so that a write sees every
// hit recorded before it began. It must be called with l.mu held.
func (l *lru) applyBufferedHits() {
	for d := l.dirty.Load(); d != 0; d &= d - 1 {
		l.applyShard(bits.TrailingZeros64(d))
	}
}

// Contains reports whether key is stored, without changing its recency. It
// never returns an error.
func (l *lru) Contains(_ context.Context, key string) (bool, error) {
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.items[key]
	return ok, nil
}

// Len returns the number of stored entries. It never returns an error.
func (l *lru) Len(_ context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count, nil
}

// Get returns the entry stored under key without changing its recency, or
// (nil, nil) if there is none. It never returns an error.
func (l *lru) Get(_ context.Context, key string) (*Entry, error) {
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.items[key]; ok {
		return n.entry, nil
	}
	return nil, nil
}

// getBytes returns the entry stored under key, the key as the LRU holds it,
// and a reference for bufferHitRef, without converting key to a string; ("",
// nil, lruRef{}) if there is none.
func (l *lru) getBytes(key []byte) (string, *Entry, lruRef) {
	i := maphash.Bytes(lruSeed, key) & (lruShardCount - 1)
	s := &l.shards[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.items[string(key)]; ok {
		return n.key, n.entry, lruRef{n, uint8(i)}
	}
	return "", nil, lruRef{}
}

// Set stores e under key as the most recently used entry, replacing any entry
// stored under key before. It never returns an error.
func (l *lru) Set(_ context.Context, key string, e *Entry) error {
	size := e.Size()
	s := l.shard(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.applyBufferedHits()
	l.set(s, key, e, size)
	return nil
}

// Size returns the number of stored entries and the sum of their
// [Entry.Size] ([Sizer]). It never returns an error.
func (l *lru) Size(_ context.Context) (entries int, bytes int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count, l.bytes, nil
}

// remove deletes n from its shard s and from the list, and returns its
// entry. It must be called with l.mu and s.mu held.
func (l *lru) remove(s *lruShard, n *lruNode) *Entry {
	delete(s.items, n.key)
	// A hit buffer may still hold n: it must not keep the entry alive.
	e := n.entry
	n.entry = nil
	l.count--
	l.bytes -= n.size
	l.unlink(n)
	return e
}

// Pop removes the entry stored under key and returns it, or returns (nil, nil)
// if there is none; with them, the entries that the index of key lists
// ([Committer]). It never returns an error.
func (l *lru) Pop(_ context.Context, key string) (*Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applyBufferedHits()
	e := l.removeKey(key)
	l.dropIndex(key)
	return e, nil
}

// PopOldest removes the least recently used entry and returns it with its key,
// or returns ("", nil, nil) if the LRU is empty. It never returns an error.
func (l *lru) PopOldest(_ context.Context) (string, *Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applyBufferedHits()
	if l.count == 0 {
		return "", nil, nil
	}
	key := l.root.next.key
	return key, l.removeKey(key), nil
}

// MoveToEnd marks the entry stored under key as the most recently used, and
// does nothing if there is none. It takes effect at once, after any hits
// buffered before it. It never returns an error.
func (l *lru) MoveToEnd(_ context.Context, key string) error {
	s := l.shard(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applyBufferedHits()
	s.mu.Lock()
	n := s.items[key]
	s.mu.Unlock()
	if n != nil {
		l.moveToBack(n)
	}
	return nil
}
