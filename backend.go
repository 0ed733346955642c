package acache

import (
	"context"
	"errors"
	"time"
)

// Backend stores cache entries in recency order, oldest first, like an ordered
// dictionary. It only stores: the [Cache] decides what to keep, calls MoveToEnd
// after each hit and calls PopOldest while it is over its limits.
//
// All methods must be safe for concurrent use by multiple goroutines. Every
// method takes a context so that a networked backend can honour deadlines, and
// returns an error so that it can report a failure; the Cache treats any error as
// a miss and forwards the request to the origin.
//
// A miss is not an error: Get and Pop return (nil, nil) for a key that is not
// stored, PopOldest returns ("", nil, nil) when the backend is empty, and
// MoveToEnd does nothing for a key that is not stored.
//
// Keys are arbitrary non-empty byte strings (they may hold any byte, and
// invalid UTF-8); the Cache always stores an entry under its own Key and never
// passes a nil entry to Set.
//
// Entries are immutable once stored. A backend that keeps Go values (like the
// LRU of [NewLRU]) may return the same *Entry to several callers; the Cache never modifies
// an entry it got from a backend, and a backend must not modify one it was given.
//
// Package [github.com/acachecontrol/acache/acachetest] checks an implementation
// against this contract.
type Backend interface {
	// Contains reports whether key is stored, without changing its recency.
	Contains(ctx context.Context, key string) (bool, error)
	// Len returns the number of stored entries.
	Len(ctx context.Context) (int, error)
	// Get returns the entry stored under key without changing its recency, or
	// (nil, nil) if there is none.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under key as the most recently used entry, replacing any
	// entry stored under key before.
	Set(ctx context.Context, key string, e *Entry) error
	// Pop removes the entry stored under key and returns it, or returns
	// (nil, nil) if there is none.
	Pop(ctx context.Context, key string) (*Entry, error)
	// PopOldest removes the least recently used entry and returns it with its
	// key, or returns ("", nil, nil) if the backend is empty.
	PopOldest(ctx context.Context) (string, *Entry, error)
	// MoveToEnd marks the entry stored under key as the most recently used.
	MoveToEnd(ctx context.Context, key string) error
}

// Sizer is implemented by a [Backend] that knows the size of everything it
// stores, whoever stored it: entries kept from an earlier run of the process,
// or stored by other processes sharing the backend. A Cache over a Sizer
// bounds that size by its byte limit ([WithMaxBytes]); over a Backend without
// it, the Cache can bound only the bytes it stored itself.
//
// Size returns the number of stored entries, as Len does, and the sum of
// [Entry.Size] over them (the Cache's own measure, so that both count
// alike), read together: a Cache that makes room calls Size instead of Len,
// one call (one round trip to a networked store) instead of two. It must
// count an entry as soon as Set returns and stop counting it as soon as Pop
// or PopOldest returns it. A backend usually keeps both beside the entries,
// updated in the same transaction as each Set and Pop, rather than computing
// them on each call.
type Sizer interface {
	Size(ctx context.Context) (entries int, bytes int64, err error)
}

// Peeker is implemented by a [Backend] that keeps some of its entries in
// memory (a disk backend's decoded entries, say). Peek returns the entry
// stored under key when it can answer at once, from memory, and nil
// otherwise: the entry may still be stored, and the Cache then calls Get.
//
// The Cache calls Peek on the caller's goroutine before Get, which it runs
// off that goroutine under the backend timeout: a hit that Peek answers
// costs no goroutine, timer or wait. Peek must therefore never do I/O nor
// wait for anything but a lock held for memory operations. What Peek returns
// is checked like what Get returns.
type Peeker interface {
	Peek(key string) *Entry
}

// DeadlineKeeper is implemented by a [Backend] whose calls return by the
// deadline of their context (with an error when it passes) whatever the
// store they reach does: hangs, drops packets, refuses connections. The
// Cache then calls it on the goroutine that needs the answer, under the
// deadline: the request's, or, for a body the Cache reads from the origin
// for every request that streams it, the goroutine that reads it. It
// otherwise runs each call in a goroutine of its own and waits for it at
// most that long (so that a backend that ignores its context cannot hold a
// request): a lookup saves a goroutine, its wake-up and a timer.
// KeepsDeadlines reports whether the backend does so as configured (a
// client library may honour contexts only when asked to); the Cache asks
// once, in NewCache.
type DeadlineKeeper interface {
	KeepsDeadlines() bool
}

// Leaser is implemented by a [Committer] that many Caches share and that
// lets them collapse their requests for one key into one origin request,
// wherever they run (collapsed forwarding, RFC 9211 Section 2.6, across a
// fleet): the first Cache to miss a key takes the key's lease and goes to
// the origin; the others wait until it is released, then look the key up
// again. A stale entry's revalidation is collapsed the same way: the Cache
// that finds the entry stale takes the lease unless another has stored a
// newer one. Within one Cache, requests already wait for each other in
// memory: a Cache asks for a lease once per key in flight, never per
// request.
//
// A lease is held under a token, unique to the request that holds it, for
// a time to live after which it ends by itself (its holder died, or hung):
// a waiter then looks the key up again and may take it. Releasing compares
// the token, so that no holder releases another's lease.
type Leaser interface {
	// GetOrLease returns the entry stored under key, as Get does, unless
	// its [Entry.Version] is stale, the version of the entry the caller
	// found stale and is about to revalidate (0 when it found none); when
	// there is no entry, or only that one, it takes key's lease for ttl
	// under token, unless another holds it, all in one atomic step. leased
	// reports that token holds the lease when it returns: the caller goes
	// to the origin, and releases the lease by a Commit with Lease set, or
	// by ReleaseLease. (nil, false, nil) means another holds it: the
	// caller waits for it.
	GetOrLease(ctx context.Context, key string, stale uint64, token string, ttl time.Duration) (e *Entry, leased bool, err error)
	// RenewLease extends the lease token holds on key to ttl from now, while
	// the response's body arrives. It reports false when token no longer
	// holds it.
	RenewLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// ReleaseLease releases the lease token holds on key, and tells the
	// waiters that the response will not be stored (not storable, failed,
	// cut short), so that each goes to the origin at once. It does nothing
	// when token does not hold the lease (a Commit released it, or it
	// ended).
	ReleaseLease(ctx context.Context, key, token string) error
	// AwaitLease returns once key's lease is released or ended, or when
	// ctx is done (with its error). lookAgain is true when the holder
	// stored the response, or when the lease ended without a word (its
	// holder died, or the word was lost): the caller looks key up again.
	// It is false when the holder said the response will not be stored.
	// A key whose lease is not held returns at once, true.
	AwaitLease(ctx context.Context, key string) (lookAgain bool, err error)
}

// Committer is implemented by a [Backend] that can store an entry as one
// atomic operation, so that many Caches over it (in one process or many)
// behave as one: no store undoes another, every response stored for a URI
// stays reachable from the URI, and the limits hold exactly. When a Backend
// implements it, the Cache stores through Commit alone, and keeps no index
// of its own ([Entry.Partitions] stays empty): the backend keeps it.
//
// Commit applies c as one operation that no other call to the backend, from
// any process, interleaves with:
//
//  1. If the entry stored under c.Key is not the one the Cache read, its
//     [Entry.Version] (0 when none is stored) differing from c.IfVersion,
//     it changes nothing and reports Conflict: the Cache reads the entry
//     again, merges, and commits again.
//  2. If c.Entry.Size() is more than c.MaxBytes, it changes nothing.
//  3. If c.Index is not "", c.Key (a key of c.Index with a partition, see
//     below) is listed in the index of c.Index, if it is not already. When
//     the index then lists more than c.MaxListed keys, the earliest listed
//     are unlisted and their entries removed.
//  4. It removes the least recently used entries other than c.Key's,
//     unlisting each from the index that lists it, until the entries,
//     c.Entry replacing what c.Key held, number at most c.MaxEntries and
//     their [Entry.Size] sums to at most c.MaxBytes.
//  5. It stores c.Entry under c.Key as the most recently used entry, and
//     keeps its Version, which Get returns with it.
//
// A backend whose entries live in n independent shards, each atomic on its
// own, may bound each shard by the limits divided by n: they then hold
// overall. It keeps a key's index in the shard of the key, and must then
// place every key of a URI in that shard: a key's URI key is the key
// without its partition, which begins at the first "\x00auth=" in the key.
// A backend may bound the work of one step (the removals of 4) and repeat
// it before it writes anything; the limits then hold once Commit returns.
//
// The index also changes what Pop and PopOldest do. Pop, as one operation,
// removes the entry stored under the key, every entry its index lists, and
// the index, and unlists the key from the index listing it: a Pop of a URI's
// key invalidates every response stored for the URI (RFC 9111 Section 4.4).
// PopOldest unlists the entry it removes, and leaves its index alone. Set
// need not list anything. Listed returns the keys that the index of the URI
// key uri lists, earliest listed first; some may have no entry any more.
type Committer interface {
	Commit(ctx context.Context, c *Commit) (CommitResult, error)
	Listed(ctx context.Context, uri string) ([]string, error)
}

// Commit is one atomic store; see [Committer].
type Commit struct {
	// Key is the key to store Entry under; Entry.Key is Key.
	Key   string
	Entry *Entry
	// IfVersion is the Version of the entry the Cache read under Key and
	// merged into Entry, or 0 when it read none.
	IfVersion uint64
	// Index is the URI key whose index lists Key, or "" when Key has no
	// partition.
	Index string
	// MaxEntries and MaxBytes are the limits the store is brought within;
	// MaxListed bounds the keys one index lists.
	MaxEntries int
	MaxBytes   int64
	MaxListed  int
	// Lease, when not "", is the token of the lease the Cache holds on Key
	// ([Leaser]): a Commit that stores Entry releases it in the same
	// operation, when Lease still holds it, and tells the waiters that the
	// response is stored. A Commit that does not store leaves it held.
	Lease string
}

// CommitResult is what a [Committer]'s Commit did.
type CommitResult struct {
	// Stored reports that Entry was stored. Conflict reports that it was
	// not because Key held another version than IfVersion. Neither: Entry
	// is larger than MaxBytes.
	Stored, Conflict bool
	// Evicted is the number of entries removed to make room or to bound an
	// index.
	Evicted int
	// Bytes is the sum of [Entry.Size] over what the store holds once the
	// commit is done, for [Stats]: exact, or, from a store of n shards,
	// the sum of the shard the commit changed times n.
	Bytes int64
	// Entries is the number of entries the store holds once the commit is
	// done, for [Stats], when it stored Entry (at least 1, Entry's): exact,
	// or, from a store of n shards, the count of the shard the commit
	// changed times n. A Commit that stores and reports 0 is taken as one
	// that does not count: the Cache then counts itself, from IfVersion
	// and Evicted.
	Entries int
}

// ErrNilBackend reports a Backend that can store nothing because it was made
// from nil: a nil pointer, or a backend over a nil client. A backend whose
// methods return errors wrapping it tells the Cache so; the Cache then logs
// it at Error once and sends every request to the origin, as if there were
// no cache (Cache-Status detail "nil backend").
var ErrNilBackend = errors.New("acache: nil backend")
