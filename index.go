package acache

import (
	"context"
	"errors"
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
	callCtx, done := s.callContext(ctx, "get")
	index, err := s.backend.Get(callCtx, uri)
	done(err)
	if err != nil {
		s.fail(ctx, "get", uri, err)
		return false
	}
	if index != nil && slices.Contains(index.Partitions, key) {
		s.used(uri, lruRef{}) // recent, so that the store of key does not evict it
		return true
	}
	old, err := s.pop(ctx, uri)
	if err != nil {
		return false
	}
	next := &Entry{Key: uri} // a stub: no response of its own
	if old != nil && old.Key == uri {
		copied := *old
		next = &copied
	} else if old != nil {
		s.fail(ctx, "pop", uri, fmt.Errorf("%w: stored under %q", ErrCorruptEntry, old.Key))
	}
	next.Partitions = append(slices.Clip(next.Partitions), key)
	if over := len(next.Partitions) - maxPartitions; over > 0 {
		s.dropPartitions(ctx, uri, next.Partitions[:over])
		next.Partitions = next.Partitions[over:]
	}
	if !s.put(ctx, uri, next) {
		s.dropPartitions(ctx, uri, next.Partitions)
		return false
	}
	return true
}

// dropPartitions removes the responses stored under keys, the partition
// keys that the index at the URI key uri lists, and returns the backend's
// errors. It is the one walk over an index, for invalidation, eviction,
// Purge and Clear alike: a key that is not a partition of uri (an index that
// is corrupt, or was written by someone else) is never touched. The caller
// holds uri's lock, which every store of a partition takes first.
func (s *store) dropPartitions(ctx context.Context, uri string, keys []string) error {
	var errs []error
	for _, key := range keys {
		if of, ok := splitPartition(key); ok && of == uri {
			_, err := s.pop(ctx, key)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clear removes every entry the backend holds, with PopOldest, each index
// with the partitions it lists, and returns the first error. It pops at most
// twice as many entries as the backend held when it began, so that stores
// made meanwhile cannot keep it going. When ctx is done first it stops and
// returns its error.
func (s *store) clear(ctx context.Context) error {
	callCtx, done := s.callContext(ctx, "len")
	n, err := s.backend.Len(callCtx)
	done(err)
	if err != nil {
		s.fail(ctx, "len", "", err)
		return fmt.Errorf("acache: clear: %w", err)
	}
	for range 2*n + 1 { // +1: to see that it is empty
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		callCtx, done := s.callContext(ctx, "pop oldest")
		key, old, err := s.backend.PopOldest(callCtx)
		done(err)
		if err != nil {
			s.fail(ctx, "pop oldest", key, err)
			return fmt.Errorf("acache: clear: %w", err)
		}
		if old == nil {
			s.usage.emptied()
			return nil
		}
		s.usage.removed(old.Size())
		// Partitions go with their index at once, so that none is left
		// unlisted if Clear stops early.
		if err := s.dropPartitions(ctx, key, old.Partitions); err != nil {
			return err
		}
	}
	return nil
}
