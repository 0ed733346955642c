package acache

import (
	"context"
	"fmt"
	"slices"
)

// maxPartitions bounds how many partitions (users) one URI keeps responses
// for; past it, the least recently listed one is removed.
const maxPartitions = 256

// listPartition records key, the key of a response stored under a partition
// of the URI key uri, in the index at uri ([Entry.Partitions]), so that an
// invalidation of the URI reaches it (RFC 9111 Section 4.4). The index is the
// entry stored for the URI itself, or a stub holding only the index. The
// caller holds uri's lock. It reports false, storing nothing, when the
// backend failed; what the index listed is then removed with it.
func (s *store) listPartition(ctx context.Context, uri, key string) bool {
	callCtx, cancel := s.callContext(ctx, "get")
	index, err := s.backend.Get(callCtx, uri)
	cancel()
	if err != nil {
		s.fail("get", uri, err)
		return false
	}
	if index != nil && slices.Contains(index.Partitions, key) {
		s.touch(uri, lruRef{}) // recent, so that the store of key does not evict it
		return true
	}
	old, ok := s.pop(ctx, uri)
	if !ok {
		return false
	}
	next := &Entry{Key: uri} // a stub: no response of its own
	if old != nil && old.Key == uri {
		copied := *old
		next = &copied
	} else if old != nil {
		s.fail("pop", uri, fmt.Errorf("%w: stored under %q", ErrCorruptEntry, old.Key))
	}
	next.Partitions = append(slices.Clip(next.Partitions), key)
	if over := len(next.Partitions) - maxPartitions; over > 0 {
		s.dropPartitions(ctx, next.Partitions[:over])
		next.Partitions = next.Partitions[over:]
	}
	if !s.put(ctx, uri, next) {
		s.dropPartitions(ctx, next.Partitions)
		return false
	}
	return true
}

// dropPartitions removes the responses stored under the partition keys
// keys. The caller holds the lock of their URI, which every store of a
// partition takes first.
func (s *store) dropPartitions(ctx context.Context, keys []string) {
	for _, key := range keys {
		s.pop(ctx, key)
	}
}
