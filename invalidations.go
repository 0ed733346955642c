package acache

import (
	"hash/maphash"
	"sync/atomic"
)

// invalidations records the invalidations of RFC 9111 Section 4.4 as they
// happen, so that a response requested before one is not stored after it:
// a body read slowly, or filled for requests that left, may end after an
// unsafe request changed the resource. The zero value is ready to use.
type invalidations struct {
	// count counts the invalidations; recent holds, for each slot of URI
	// keys (by a hash of the key), the count at the latest invalidation of
	// a key in it. Another key sharing the slot may make a store be given
	// up: the cost is one response not stored.
	count  atomic.Uint64
	recent [64]atomic.Uint64
}

// invalidationSeed seeds the hash of invalidationSlot.
var invalidationSeed = maphash.MakeSeed()

// slot returns where the invalidations of the URI of key are recorded.
func (v *invalidations) slot(key string) *atomic.Uint64 {
	uri, _ := splitPartition(key)
	return &v.recent[maphash.String(invalidationSeed, uri)%uint64(len(v.recent))]
}

// seen returns the count of invalidations so far, for invalidatedSince: a
// request reads it before it goes to the origin.
func (v *invalidations) seen() uint64 {
	return v.count.Load()
}

// mark records an invalidation of the responses stored under the URI key
// uri, before they are removed.
func (v *invalidations) mark(uri string) {
	v.slot(uri).Store(v.count.Add(1))
}

// invalidatedSince reports whether the URI of key may have been
// invalidated after seen returned count.
func (v *invalidations) invalidatedSince(key string, count uint64) bool {
	return v.slot(key).Load() > count
}
