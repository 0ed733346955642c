package acache

import (
	"context"
	"slices"
)

// This file holds what makes the LRU a Committer: one critical section per
// store, in which the version is compared, the key listed in its URI's
// index, room made and the entry set, so that Caches sharing one LRU never
// undo each other's stores nor lose an index member. The indexes live beside
// the list, under the LRU's mu.

var _ Committer = (*lru)(nil)

// lruIndexes are the partition indexes of an LRU: the keys listed under
// each URI key, earliest listed first, and the URI key listing each key.
type lruIndexes struct {
	listed   map[string][]string
	listedIn map[string]string
}

// Commit stores c.Entry as one operation ([Committer]). It never returns an
// error.
func (l *lru) Commit(_ context.Context, c *Commit) (CommitResult, error) {
	s := l.shard(c.Key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.applyBufferedHits()
	s.mu.Lock()
	n := s.items[c.Key]
	var current uint64
	if n != nil {
		current = n.entry.Version
	}
	s.mu.Unlock()
	size := c.Entry.Size()
	switch {
	case current != c.IfVersion:
		return CommitResult{Conflict: true}, nil
	case size > c.MaxBytes:
		return CommitResult{}, nil
	}
	var res CommitResult
	if c.Index != "" {
		res.Evicted += l.list(c.Index, c.Key, c.MaxListed)
	}
	res.Evicted += l.makeRoom(c.Key, size, c.MaxEntries, c.MaxBytes)
	l.set(s, c.Key, c.Entry, size)
	res.Stored = true
	res.Bytes, res.Entries = l.bytes, l.count
	return res, nil
}

// Listed returns the keys the index of uri lists, earliest listed first
// ([Committer]). It never returns an error.
func (l *lru) Listed(_ context.Context, uri string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.indexes.listed[uri]), nil
}

// list lists key in the index of uri, if it is not already, and removes the
// entries of the earliest listed keys past maxListed, returning how many it
// removed. It must be called with l.mu held.
func (l *lru) list(uri, key string, maxListed int) (removed int) {
	ix := &l.indexes
	if ix.listedIn[key] == uri {
		return 0
	}
	l.unlist(key) // listed under another URI: a key has one
	if ix.listed == nil {
		ix.listed, ix.listedIn = make(map[string][]string), make(map[string]string)
	}
	ix.listed[uri] = append(ix.listed[uri], key)
	ix.listedIn[key] = uri
	for len(ix.listed[uri]) > max(maxListed, 1) {
		earliest := ix.listed[uri][0]
		l.unlist(earliest)
		if l.removeKey(earliest) != nil {
			removed++
		}
	}
	return removed
}

// unlist removes key from the index that lists it, if any. It must be
// called with l.mu held.
func (l *lru) unlist(key string) {
	ix := &l.indexes
	uri, ok := ix.listedIn[key]
	if !ok {
		return
	}
	delete(ix.listedIn, key)
	keys := slices.DeleteFunc(ix.listed[uri], func(k string) bool { return k == key })
	if len(keys) == 0 {
		delete(ix.listed, uri)
	} else {
		ix.listed[uri] = keys
	}
}

// dropIndex removes the entries that the index of uri lists, and the index.
// It must be called with l.mu held.
func (l *lru) dropIndex(uri string) {
	ix := &l.indexes
	keys := ix.listed[uri]
	delete(ix.listed, uri)
	for _, key := range keys {
		delete(ix.listedIn, key)
		l.removeKey(key)
	}
}

// removeKey removes the entry stored under key, if any, unlists it, and
// returns it. It must be called with l.mu held, and no shard's mu.
func (l *lru) removeKey(key string) *Entry {
	s := l.shard(key)
	s.mu.Lock()
	var e *Entry
	if n, ok := s.items[key]; ok {
		e = l.remove(s, n)
	}
	s.mu.Unlock()
	l.unlist(key)
	return e
}

// makeRoom removes the least recently used entries other than key's until
// an entry of size bytes under key, replacing what key holds, fits within
// maxEntries and maxBytes, and returns how many it removed. It must be
// called with l.mu held.
func (l *lru) makeRoom(key string, size int64, maxEntries int, maxBytes int64) (removed int) {
	s := l.shard(key)
	s.mu.Lock()
	replaced := s.items[key]
	s.mu.Unlock()
	for {
		count, bytes := l.count+1, l.bytes+size
		if replaced != nil && replaced.next != nil {
			count, bytes = count-1, bytes-replaced.size
		}
		victim := l.root.next
		if victim == replaced {
			victim = victim.next
		}
		if count <= maxEntries && bytes <= maxBytes || victim == &l.root {
			return removed
		}
		l.removeKey(victim.key)
		removed++
	}
}

// set stores e, of size bytes, under key in shard s as the most recently
// used entry. It must be called with l.mu held.
func (l *lru) set(s *lruShard, key string, e *Entry, size int64) {
	s.mu.Lock()
	n, ok := s.items[key]
	if ok {
		n.entry = e
	} else {
		if s.items == nil {
			s.items = make(map[string]*lruNode)
		}
		n = &lruNode{key: key, entry: e}
		s.items[key] = n
	}
	s.mu.Unlock()
	if ok {
		l.bytes -= n.size
		l.unlink(n)
	} else {
		l.count++
	}
	n.size = size
	l.bytes += size
	l.pushBack(n)
}
