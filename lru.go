package acache

import (
	"context"
	"sync"
)

var (
	_ Backend = (*LRU)(nil)
	_ Sizer   = (*LRU)(nil)
)

// LRU is the default Backend: an in-memory store of entries in recency order.
// Every method runs in constant time and is safe for concurrent use.
//
// An LRU stores the *Entry it is given, not a copy, and returns that same
// pointer from Get, Pop and PopOldest. It has no limits of its own: the [Cache]
// owns eviction and calls PopOldest while Len, or Size, is over its limits.
// Several Caches may share one LRU; its Size bounds them together.
//
// The methods accept a context only to satisfy Backend; an in-memory store
// never blocks, so the context is ignored and the error is always nil.
//
// The zero value is an empty LRU ready to use. An LRU must not be copied after
// first use.
type LRU struct {
	// mu guards items, root and bytes.
	mu    sync.Mutex
	items map[string]*lruNode
	// bytes is the sum of the sizes of the entries in items.
	bytes int64
	// root is the sentinel of a circular doubly-linked list of the nodes in
	// items: root.next is the oldest node and root.prev the newest. Both are
	// &root when the list is empty, and nil before the first use of a zero LRU.
	root lruNode
}

// lruNode is an element of an LRU's list.
type lruNode struct {
	prev, next *lruNode
	key        string
	entry      *Entry
	size       int64 // entry.Size() when it was set
}

// NewLRU returns an empty LRU.
func NewLRU() *LRU {
	l := new(LRU)
	l.init()
	return l
}

// init makes a zero LRU ready to use. It must be called with l.mu held.
func (l *LRU) init() {
	if l.items == nil {
		l.items = make(map[string]*lruNode)
		l.root.prev = &l.root
		l.root.next = &l.root
	}
}

// unlink removes n from the list. It must be called with l.mu held.
func (l *LRU) unlink(n *lruNode) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

// pushBack inserts n as the newest node. It must be called with l.mu held.
func (l *LRU) pushBack(n *lruNode) {
	n.prev = l.root.prev
	n.next = &l.root
	n.prev.next = n
	l.root.prev = n
}

// Contains reports whether key is stored, without changing its recency. It
// never returns an error.
func (l *LRU) Contains(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.items[key]
	return ok, nil
}

// Len returns the number of stored entries. It never returns an error.
func (l *LRU) Len(_ context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items), nil
}

// Get returns the entry stored under key without changing its recency, or
// (nil, nil) if there is none. It never returns an error.
func (l *LRU) Get(_ context.Context, key string) (*Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.items[key]; ok {
		return n.entry, nil
	}
	return nil, nil
}

// getBytes returns the entry stored under key, and the key as the LRU holds
// it, without converting key to a string; ("", nil) if there is none.
func (l *LRU) getBytes(key []byte) (string, *Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.items[string(key)]; ok {
		return n.key, n.entry
	}
	return "", nil
}

// Set stores e under key as the most recently used entry, replacing any entry
// stored under key before. It never returns an error.
func (l *LRU) Set(_ context.Context, key string, e *Entry) error {
	size := e.Size()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if n, ok := l.items[key]; ok {
		l.bytes += size - n.size
		n.entry, n.size = e, size
		l.unlink(n)
		l.pushBack(n)
		return nil
	}
	n := &lruNode{key: key, entry: e, size: size}
	l.items[key] = n
	l.bytes += size
	l.pushBack(n)
	return nil
}

// Size returns the number of stored entries and the sum of their
// [Entry.Size] ([Sizer]). It never returns an error.
func (l *LRU) Size(_ context.Context) (entries int, bytes int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items), l.bytes, nil
}

// Pop removes the entry stored under key and returns it, or returns (nil, nil)
// if there is none. It never returns an error.
func (l *LRU) Pop(_ context.Context, key string) (*Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.items[key]
	if !ok {
		return nil, nil
	}
	delete(l.items, key)
	l.bytes -= n.size
	l.unlink(n)
	return n.entry, nil
}

// PopOldest removes the least recently used entry and returns it with its key,
// or returns ("", nil, nil) if the LRU is empty. It never returns an error.
func (l *LRU) PopOldest(_ context.Context) (string, *Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) == 0 {
		return "", nil, nil
	}
	n := l.root.next
	delete(l.items, n.key)
	l.bytes -= n.size
	l.unlink(n)
	return n.key, n.entry, nil
}

// MoveToEnd marks the entry stored under key as the most recently used, and
// does nothing if there is none. It never returns an error.
func (l *LRU) MoveToEnd(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.items[key]; ok && n != l.root.prev {
		l.unlink(n)
		l.pushBack(n)
	}
	return nil
}
