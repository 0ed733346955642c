package diskcache

// This file holds the methods of acache.Backend, acache.Sizer and
// acache.Peeker; commit.go holds those of acache.Committer.

import (
	"context"
	"errors"
	"fmt"

	"github.com/acachecontrol/acache"
	bolt "go.etcd.io/bbolt"
)

// Contains reports whether an entry is stored under key, without changing
// its recency. It implements [acache.Backend].
func (s *Store) Contains(ctx context.Context, key string) (bool, error) {
	if err := s.ready(ctx); err != nil {
		return false, err
	}
	sl := slotOf(key)
	var found bool
	err := s.db.view(entriesBucket, func(entries *bolt.Bucket) error {
		encoding, err := lookup(entries, &sl, key)
		found = encoding != nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("diskcache: contains: %w", err)
	}
	return found, nil
}

// Len returns the number of stored entries. It implements [acache.Backend].
func (s *Store) Len(ctx context.Context) (int, error) {
	n, _, err := s.counters(ctx)
	return int(n), err
}

// Size returns the number of stored entries and the sum of their
// [acache.Entry.Size], computed when each was stored, read in one
// transaction. It implements [acache.Sizer].
func (s *Store) Size(ctx context.Context) (entries int, bytes int64, err error) {
	n, size, err := s.counters(ctx)
	return int(n), int64(size), err
}

// counters returns the counters of the meta bucket.
func (s *Store) counters(ctx context.Context) (count, size uint64, err error) {
	if err := s.ready(ctx); err != nil {
		return 0, 0, err
	}
	err = s.db.view(metaBucket, func(meta *bolt.Bucket) error {
		count, size = counter(meta, metaCount), counter(meta, metaBytes)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("diskcache: %w", err)
	}
	return count, size, nil
}

// Get returns the entry stored under key, or (nil, nil), without changing its
// recency. Stored bytes that do not decode give an error wrapping
// [acache.ErrCorruptEntry]. It implements [acache.Backend].
func (s *Store) Get(ctx context.Context, key string) (*acache.Entry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	sl := slotOf(key)
	e, gen := s.db.memory.get(&sl, key)
	if e != nil {
		return e, nil
	}
	err := s.db.view(entriesBucket, func(entries *bolt.Bucket) error {
		encoding, err := lookup(entries, &sl, key)
		if encoding == nil || err != nil {
			return err
		}
		// Decoded inside the transaction: UnmarshalBinary copies what it
		// keeps out of bbolt's memory, so no copy is made before it.
		e, err = decodeRecord(encoding)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("diskcache: get: %w", err)
	}
	if e != nil {
		s.db.memory.add(&sl, key, e, gen)
	}
	return e, nil
}

// Peek returns the entry stored under key if the database holds it decoded
// in memory, and nil otherwise (Get then reads the file), or after damage.
// It never does I/O, and it does not change the entry's recency. It
// implements [acache.Peeker].
func (s *Store) Peek(key string) *acache.Entry {
	if s.db == nil || s.closed.Load() || s.db.failed() != nil {
		return nil
	}
	sl := slotOf(key)
	e, _ := s.db.memory.get(&sl, key)
	return e
}

// Set stores e under key as the most recently used entry, replacing the
// entry stored under key before. It returns once the entry is on disk: the
// transaction is committed with fsync. It lists nothing, and a key listed
// in a partition index ([Store.Commit]) stays listed. It implements
// [acache.Backend].
func (s *Store) Set(ctx context.Context, key string, e *acache.Entry) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if e == nil {
		return errors.New("diskcache: set: nil entry")
	}
	encoding, err := e.MarshalBinary()
	if err != nil {
		return fmt.Errorf("diskcache: set: %w", err)
	}
	record, size, sl := encodeRecord(key, encoding), e.Size(), slotOf(key)
	put := func(b buckets) error { return b.put(&sl, record, size, e.Version) }
	remember := func(err error) {
		if err != nil {
			s.db.memory.removed(&sl) // whatever the slot holds, memory does not know it
			return
		}
		s.db.memory.stored(&sl, key, e) // e is immutable once stored
	}
	if err := s.db.update(put, remember); err != nil {
		return fmt.Errorf("diskcache: set: %w", err)
	}
	return nil
}

// Pop removes the entry stored under key and returns it, or returns
// (nil, nil), in one transaction with every entry that the partition index
// of key lists (key is then a URI key, see [Store.Commit]) and the index,
// and unlists key from the index that lists it. Stored bytes that do not
// decode are removed all the same, and reported with an error wrapping
// [acache.ErrCorruptEntry]. It implements [acache.Backend].
func (s *Store) Pop(ctx context.Context, key string) (*acache.Entry, error) {
	held, err := s.holds(ctx, key)
	if err != nil {
		return nil, err
	}
	if !held {
		return nil, nil // no write transaction, no fsync, for a miss
	}
	sl := slotOf(key)
	var e *acache.Entry
	var decodeErr error
	var r removals
	err = s.db.update(func(b buckets) error {
		e, decodeErr, r = nil, nil, removals{}
		encoding, err := lookup(b.entries, &sl, key)
		if err != nil {
			decodeErr = err
		} else if encoding != nil {
			e, decodeErr = decodeRecord(encoding) // before the delete frees the pages
		}
		if encoding != nil || err != nil { // not another key's entry
			if _, err := b.remove(&sl); err != nil {
				return err
			}
		}
		if err := b.unlist(&sl); err != nil {
			return err
		}
		return b.dropIndex(&sl, &r)
	}, func(error) {
		s.db.memory.removed(&sl)
		r.forget(&s.db.memory)
	})
	if err != nil {
		return nil, fmt.Errorf("diskcache: pop: %w", err)
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("diskcache: pop: removed %q: %w", key, decodeErr)
	}
	return e, nil
}

// holds reports whether a Pop of key has something to remove: an entry
// stored under key (or bytes that do not decode), a listing of key, or a
// partition index of key.
func (s *Store) holds(ctx context.Context, key string) (bool, error) {
	if err := s.ready(ctx); err != nil {
		return false, err
	}
	sl := slotOf(key)
	var held bool
	err := s.db.viewTx(func(tx *bolt.Tx) error {
		b, err := bucketsOf(tx)
		if err != nil {
			return err
		}
		encoding, err := lookup(b.entries, &sl, key)
		held = encoding != nil || err != nil || b.listedIn.Get(sl[:]) != nil || hasListings(b.listed, &sl)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("diskcache: pop: %w", err)
	}
	return held, nil
}

// PopOldest removes the least recently used entry, unlisting it from the
// partition index that lists it (it leaves its own index alone), and
// returns it with its key, or returns ("", nil, nil) if the store is empty.
// An oldest entry whose stored bytes do not decode is removed all the same,
// and reported with its key and an error wrapping [acache.ErrCorruptEntry].
// It implements [acache.Backend].
func (s *Store) PopOldest(ctx context.Context) (string, *acache.Entry, error) {
	if err := s.ready(ctx); err != nil {
		return "", nil, err
	}
	var key string
	var e *acache.Entry
	var decodeErr error
	var popped []slot
	err := s.db.update(func(b buckets) error {
		key, e, decodeErr, popped = "", nil, nil, popped[:0]
		for {
			seq, sl, found, err := b.oldest(nil)
			if err != nil || !found {
				return err
			}
			popped = append(popped, sl)
			if record := b.entries.Get(sl[:]); record != nil {
				key, e, decodeErr = decodeOldest(record)
			}
			if _, err := b.evict(seq, &sl); err != nil {
				return err
			}
			if e != nil || decodeErr != nil {
				return nil
			}
			// An index without a record (never written so): go on.
		}
	}, func(error) {
		for _, sl := range popped {
			s.db.memory.removed(&sl)
		}
	})
	if err != nil {
		return "", nil, fmt.Errorf("diskcache: pop oldest: %w", err)
	}
	if decodeErr != nil {
		return key, nil, fmt.Errorf("diskcache: pop oldest: removed %q: %w", key, decodeErr)
	}
	return key, e, nil
}

// decodeOldest decodes the record of the entry PopOldest removes.
func decodeOldest(record []byte) (key string, e *acache.Entry, err error) {
	k, encoding, ok := splitRecord(record)
	if !ok {
		return "", nil, fmt.Errorf("%w: a record without its key", acache.ErrCorruptEntry)
	}
	e, err = decodeRecord(encoding)
	return string(k), e, err
}

// MoveToEnd marks the entry stored under key as the most recently used. It
// records the move in memory and returns: the moves are written together,
// in one transaction, within a second, before the next write of any Store of
// this process on the directory, and at Close. Within the process the order
// is therefore exact; a crash loses at most the last second of moves, never
// an entry. A move of a key that is not stored, or is removed before the
// moves are written, does nothing. It implements [acache.Backend].
func (s *Store) MoveToEnd(ctx context.Context, key string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	s.db.addTouch(slotOf(key), key)
	return nil
}
