package diskcache

// This file holds the partition indexes that a Store keeps as an
// acache.Committer: the keys that Commit lists under each URI key, so that a
// Pop of the URI's key reaches every response stored for the URI (RFC 9111
// Section 4.4). They live in two buckets, changed in the same transaction as
// the entries:
//
//   - listedBucket maps a listing, the slot of the URI key (32 bytes) then a
//     sequence number (8 bytes, big-endian, the bucket's own bbolt
//     sequence), to the full key listed. The listings of one URI are
//     adjacent, earliest listed first: Listed reads them with one cursor,
//     from the URI's slot on.
//   - listedInBucket maps the slot of a listed key to its listing, so that a
//     key is listed once, and its removal unlists it without a scan.

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// listingLen is the length of a key of listedBucket.
const listingLen = len(slot{}) + 8

// listingOf returns the key of listedBucket of the seq-th listing under the
// URI key in uri.
func listingOf(uri *slot, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, listingLen), uri[:]...), seq)
}

// listingsOf returns the listings under the URI key in uri, earliest first,
// and the keys they list: copies, valid after the transaction.
func listingsOf(listed *bolt.Bucket, uri *slot) (listings, keys [][]byte) {
	c := listed.Cursor()
	for k, v := c.Seek(uri[:]); k != nil && bytes.HasPrefix(k, uri[:]); k, v = c.Next() {
		listings = append(listings, bytes.Clone(k))
		keys = append(keys, bytes.Clone(v))
	}
	return listings, keys
}

// hasListings reports whether the index of the URI key in uri lists a key.
func hasListings(listed *bolt.Bucket, uri *slot) bool {
	k, _ := listed.Cursor().Seek(uri[:])
	return k != nil && bytes.HasPrefix(k, uri[:])
}

// removals records what a write removed: the slots it emptied, which memory
// forgets once the write is committed, and how many entries it removed.
type removals struct {
	slots   []slot
	entries int
}

// add records that s was emptied, of an entry if removed.
func (r *removals) add(s slot, removed bool) {
	r.slots = append(r.slots, s)
	if removed {
		r.entries++
	}
}

// forget removes the slots r records from m.
func (r *removals) forget(m *memory) {
	for i := range r.slots {
		m.removed(&r.slots[i])
	}
}

// list lists key, whose slot is s, in the index of the URI key uri, if it
// is not listed there already (a key listed under another URI moves), then
// removes the earliest listings past maxListed (at least 1) with their
// entries, recording them in r.
func (b buckets) list(uri string, s *slot, key string, maxListed int, r *removals) error {
	u := slotOf(uri)
	if at := b.listedIn.Get(s[:]); len(at) == listingLen && bytes.HasPrefix(at, u[:]) && b.listed.Get(at) != nil {
		return nil // listed here already, where it was first listed
	}
	if err := b.unlist(s); err != nil {
		return err
	}
	seq, err := b.listed.NextSequence()
	if err != nil {
		return err
	}
	at := listingOf(&u, seq)
	if err := b.listed.Put(at, []byte(key)); err != nil {
		return err
	}
	if err := b.listedIn.Put(bytes.Clone(s[:]), at); err != nil {
		return err
	}
	listings, keys := listingsOf(b.listed, &u)
	for i := range max(0, len(listings)-max(maxListed, 1)) {
		if err := b.dropListing(listings[i], keys[i], r); err != nil {
			return err
		}
	}
	return nil
}

// unlist removes the listing of the key in s, if one is listed.
func (b buckets) unlist(s *slot) error {
	at := b.listedIn.Get(s[:])
	if at == nil {
		return nil
	}
	if err := b.listed.Delete(bytes.Clone(at)); err != nil {
		return err
	}
	return b.listedIn.Delete(s[:])
}

// dropIndex removes every listing of the index of the URI key in uri, and
// the entries of the keys listed, recording them in r.
func (b buckets) dropIndex(uri *slot, r *removals) error {
	listings, keys := listingsOf(b.listed, uri)
	for i := range listings {
		if err := b.dropListing(listings[i], keys[i], r); err != nil {
			return err
		}
	}
	return nil
}

// dropListing removes the listing at, of key, and the entry stored for key,
// recording it in r.
func (b buckets) dropListing(at, key []byte, r *removals) error {
	s := slotOf(string(key))
	if err := b.listed.Delete(at); err != nil {
		return err
	}
	if bytes.Equal(b.listedIn.Get(s[:]), at) {
		if err := b.listedIn.Delete(s[:]); err != nil {
			return err
		}
	}
	removed, err := b.remove(&s)
	if err != nil {
		return err
	}
	r.add(s, removed)
	return nil
}
