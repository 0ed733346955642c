package acache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds how the store stores over a Committer: it reads what the
// key holds, merges the new entry with it (the variants it keeps, and never
// an older response over a newer one), and commits the result as one
// operation that applies only if what it read is still there; else it reads
// again. The backend lists the key in its URI's index and makes room in the
// same operation, so no other store, in this process or another, comes in
// between.

// maxCommitAttempts bounds how many times one store reads and commits
// again because other stores changed the key in between.
const maxCommitAttempts = 8

// lookedUp is what a lookup found under key (entry, nil for nothing), when
// key is not "": a store merges with it instead of reading the key again,
// and reads again only when the Committer reports that it changed since.
// failed reports a lookup the backend failed: the store is then skipped,
// having nothing it can merge with, over a backend that just failed.
type lookedUp struct {
	key    string
	entry  *Entry
	failed bool
	// lease is the lease the request holds on key, if any (storelease.go):
	// the Commit that stores its response releases it.
	lease *leaseHold
}

// commit stores e under key through the Committer, merging it first with
// seen, what the request's lookup found, when it is of key. The caller holds
// no key lock; commit takes key's, which orders the stores of this Cache,
// while the versions order those of every Cache.
func (s *store) commit(ctx context.Context, key string, e *Entry, seen lookedUp) {
	c := &Commit{Key: key, Entry: e, MaxEntries: s.cfg.maxEntries, MaxBytes: s.cfg.maxBytes, MaxListed: maxPartitions}
	if uri, partitioned := splitPartition(key); partitioned {
		c.Index = uri
		s.partitioned.Store(true)
	}
	var lease *leaseHold
	if seen.key == key && seen.lease != nil {
		lease, c.Lease = seen.lease, seen.lease.token
	}
	unlock := s.keys.lock(key)
	defer unlock()
	if seen.failed && seen.key == key {
		return
	}
	for range maxCommitAttempts {
		old, known := seen.entry, seen.key == key
		seen = lookedUp{} // what the lookup saw serves the first attempt only
		if !known {
			var ok bool
			if old, ok = s.readToCommit(ctx, key); !ok {
				return
			}
		}
		c.IfVersion = 0
		e.Variants = nil
		if old != nil {
			if s.newerStored(old, e) {
				return // the store of a newer response came first: it stays
			}
			c.IfVersion = old.Version
			if e.Variants = s.keptVariants(e, old); e.Size() > s.cfg.maxBytes {
				e.Variants = nil
			}
		}
		e.Version = rand.Uint64() | 1 // never 0, which means none
		callCtx, done := s.callContext(ctx, "commit")
		res, err := s.committer.Commit(callCtx, c)
		done(err)
		if err != nil {
			s.fail(ctx, "commit", key, err)
			return
		}
		s.committed(c, res, lease)
		if !res.Conflict {
			return
		}
	}
	s.fail(ctx, "commit", key, fmt.Errorf("acache: storing %q: changed by other stores %d times in a row", key, maxCommitAttempts))
}

// committed counts what the Commit of c did (res): its evictions and, when
// it stored, the store, the entries and bytes the backend holds, and the
// release of the lease the request held (lease, when not nil).
func (s *store) committed(c *Commit, res CommitResult, lease *leaseHold) {
	s.n.evictions.Add(int64(res.Evicted))
	if !res.Stored {
		return
	}
	s.n.stores.Add(1)
	s.usage.afterCommit(res, c.IfVersion != 0)
	if lease != nil {
		lease.stored.Store(true) // the Commit released it
	}
}

// readToCommit returns what key holds, to merge with, or nil. An entry that
// does not decode or fails validation is removed first (the caller holds
// key's lock). ok is false when the backend failed.
func (s *store) readToCommit(ctx context.Context, key string) (old *Entry, ok bool) {
	callCtx, done := s.callContext(ctx, "get")
	old, err := s.backend.Get(callCtx, key)
	done(err)
	switch {
	case errors.Is(err, ErrCorruptEntry):
	case err != nil:
		s.fail(ctx, "get", key, err)
		return nil, false
	case old == nil:
		return nil, true
	case old.Key != key:
		err = fmt.Errorf("%w: stored under %q", ErrCorruptEntry, old.Key)
	case !s.d.derivedHere(old):
		err = s.validEntry(old)
	}
	if err == nil {
		return old, true
	}
	s.fail(ctx, "get", key, err)
	if _, err := s.pop(ctx, key); err != nil {
		return nil, false
	}
	return nil, true
}

// newerStored reports whether old, what key holds, has a response newer
// than e for the same request: the one e would replace (the same Vary
// selection and credentials). The store then keeps old.
func (s *store) newerStored(old, e *Entry) bool {
	names := s.d.metaOf(e).VaryNames
	for v := range old.responses() {
		if v.Key != e.Key || v.Credentials != e.Credentials || !slices.Equal(s.d.metaOf(v).VaryNames, names) ||
			!policy.VaryMatches(names, v.VaryHeader, e.VaryHeader) {
			continue
		}
		return policy.Newer(v.Header, v.ResponseTime, e.Header, e.ResponseTime)
	}
	return false
}

// listed returns the keys that the index of uri lists: the Committer's when
// it keeps the index, else those of the entry stored under uri (index,
// read by the caller).
func (s *store) listed(ctx context.Context, uri string, index *Entry) ([]string, error) {
	if s.committer == nil {
		if index == nil {
			return nil, nil
		}
		return index.Partitions, nil
	}
	callCtx, done := s.callContext(ctx, "listed")
	keys, err := s.committer.Listed(callCtx, uri)
	done(err)
	if err != nil {
		s.fail(ctx, "listed", uri, err)
		return nil, fmt.Errorf("acache: listing %q: %w", uri, err)
	}
	return keys, nil
}
