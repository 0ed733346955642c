package acache

import (
	"context"
	"errors"
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

// ErrNilBackend reports a Backend that can store nothing because it was made
// from nil: a nil pointer, or a backend over a nil client. A backend whose
// methods return errors wrapping it tells the Cache so; the Cache then logs
// it at Error once and sends every request to the origin, as if there were
// no cache (Cache-Status detail "nil backend").
var ErrNilBackend = errors.New("acache: nil backend")
