package diskcache

// This file holds what makes a Store an acache.Committer: Commit compares
// the version, lists the key in its URI's index, makes room and stores the
// entry in one write transaction of the group commit, so that Caches sharing
// a directory never undo each other's stores nor lose an index member.

import (
	"context"
	"errors"
	"fmt"

	"github.com/acachecontrol/acache"
	bolt "go.etcd.io/bbolt"
)

var _ acache.Committer = (*Store)(nil)

// Commit stores c.Entry under c.Key as one write transaction of the group
// commit, committed with fsync like Set's, after the moves of MoveToEnd
// pending: if the Version of the entry stored under c.Key (0 for none) is
// c.IfVersion, and c.Entry is no larger than c.MaxBytes, it lists c.Key in
// the index of c.Index (when not ""), removing the earliest listed past
// c.MaxListed with their entries, removes the least recently used entries
// other than c.Key's, unlisting each, until the store, c.Entry replacing
// what c.Key holds, is within c.MaxEntries and c.MaxBytes, and stores
// c.Entry as the most recently used. Otherwise it changes nothing. Bytes
// and Entries, the Store's counts (see [Store.Size]), are reported when the
// entry is stored. It implements [acache.Committer].
//
// The version is compared in the write transaction, never in a read before
// it: a Conflict then returns once the commits before it have updated the
// entries held in memory, so that the Get which follows it reads the entry
// that conflicted, not the one it replaced.
func (s *Store) Commit(ctx context.Context, c *acache.Commit) (acache.CommitResult, error) {
	if err := s.ready(ctx); err != nil {
		return acache.CommitResult{}, err
	}
	if c == nil || c.Entry == nil {
		return acache.CommitResult{}, errors.New("diskcache: commit: nil entry")
	}
	encoding, err := c.Entry.MarshalBinary()
	if err != nil {
		return acache.CommitResult{}, fmt.Errorf("diskcache: commit: %w", err)
	}
	w := &commitWrite{c: c, slot: slotOf(c.Key), size: c.Entry.Size(), record: encodeRecord(c.Key, encoding)}
	if err := s.db.update(w.apply, w.remember(&s.db.memory)); err != nil {
		return acache.CommitResult{}, fmt.Errorf("diskcache: commit: %w", err)
	}
	return w.result, nil
}

// Listed returns the keys that the index of the URI key uri lists, earliest
// listed first. It implements [acache.Committer].
func (s *Store) Listed(ctx context.Context, uri string) ([]string, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	u := slotOf(uri)
	var keys []string
	err := s.db.view(listedBucket, func(listed *bolt.Bucket) error {
		_, listedKeys := listingsOf(listed, &u)
		for _, key := range listedKeys {
			keys = append(keys, string(key))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diskcache: listed: %w", err)
	}
	return keys, nil
}

// commitWrite is one Commit's write: what it stores and, once its
// transaction ran, what it did.
type commitWrite struct {
	c      *acache.Commit
	slot   slot // c.Key's
	size   int64
	record []byte

	result  acache.CommitResult
	removed removals
}

// apply runs w in the write transaction of b. It may run more than once
// (see database.update): it starts from nothing each time.
func (w *commitWrite) apply(b buckets) error {
	w.result, w.removed = acache.CommitResult{}, removals{}
	if b.version(&w.slot, w.c.Key) != w.c.IfVersion {
		w.result.Conflict = true
		return nil
	}
	if w.size > w.c.MaxBytes {
		return nil
	}
	if w.c.Index != "" {
		if err := b.list(w.c.Index, &w.slot, w.c.Key, w.c.MaxListed, &w.removed); err != nil {
			return err
		}
	}
	if err := w.makeRoom(b); err != nil {
		return err
	}
	if err := b.put(&w.slot, w.record, w.size, w.c.Entry.Version); err != nil {
		return err
	}
	w.result.Stored = true
	w.result.Evicted = w.removed.entries
	w.result.Bytes = int64(counter(b.meta, metaBytes))
	w.result.Entries = int(counter(b.meta, metaCount))
	return nil
}

// makeRoom removes the least recently used entries other than w's, each
// unlisted, until w's entry, replacing what its slot holds, leaves the
// store within w's limits, or no other entry is left.
func (w *commitWrite) makeRoom(b buckets) error {
	var replaced indexRecord
	held := int64(0)
	if r, ok := parseIndex(b.index.Get(w.slot[:])); ok {
		replaced, held = r, 1
	}
	for {
		count := int64(counter(b.meta, metaCount)) + 1 - held
		size := int64(counter(b.meta, metaBytes)) + w.size - int64(replaced.size)
		if count <= int64(w.c.MaxEntries) && size <= w.c.MaxBytes {
			return nil
		}
		seq, victim, found, err := b.oldest(&w.slot)
		if err != nil || !found {
			return err
		}
		removed, err := b.evict(seq, &victim)
		if err != nil {
			return err
		}
		w.removed.add(victim, removed)
	}
}

// remember returns the function that updates memory with what w did, once
// its transaction is committed or has failed.
func (w *commitWrite) remember(m *memory) func(error) {
	return func(err error) {
		w.removed.forget(m)
		switch {
		case err != nil:
			m.removed(&w.slot) // whatever the slot holds, memory does not know it
		case w.result.Stored:
			m.stored(&w.slot, w.c.Key, w.c.Entry) // immutable once stored
		}
	}
}
