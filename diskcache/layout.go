package diskcache

// This file holds the layout of the database: its buckets, how a key maps to
// a bbolt key, how a record is encoded, and the operations on one slot that
// keep the buckets and the counters consistent within a write transaction.
// The partition indexes (listedBucket, listedInBucket) have theirs in
// listing.go.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/acachecontrol/acache"
	bolt "go.etcd.io/bbolt"
)

// formatVersion identifies the layout below; Open upgrades a database of
// previousFormat (upgrade.go) and refuses any other.
const formatVersion = 2

// previousFormat is the layout before the partition indexes and the
// versions in indexBucket: index records of seq(8) size(8), no listedBucket
// nor listedInBucket.
const previousFormat = 1

var (
	// entriesBucket maps the hash of a key to uvarint(len(key)) key
	// encoding, where encoding is what [acache.Entry.MarshalBinary] returns.
	entriesBucket = []byte("entries")
	// indexBucket maps the hash of a key to its place in recencyBucket,
	// its size and its [acache.Entry.Version]: seq(8 bytes) size(8 bytes)
	// version(8 bytes), all big-endian (see indexRecord).
	indexBucket = []byte("index")
	// recencyBucket maps a sequence number (8 bytes, big-endian) to the
	// hash of a key: the oldest entry comes first. Its bbolt sequence is the
	// last number given out, so it survives restarts with the rest.
	recencyBucket = []byte("recency")
	// listedBucket and listedInBucket hold the partition indexes: see
	// listing.go.
	listedBucket   = []byte("listed")
	listedInBucket = []byte("listedIn")
	// metaBucket holds the format version, the number of entries and the
	// sum of their sizes, updated in every transaction that changes them.
	metaBucket = []byte("meta")

	metaFormat = []byte("format")
	metaCount  = []byte("count")
	metaBytes  = []byte("bytes")
)

// slot is the bbolt key of a cache key: its SHA-256. A key of any length and
// any bytes maps to 32 bytes, well within bbolt's key limit, and names no file.
type slot [sha256.Size]byte

func slotOf(key string) slot { return sha256.Sum256([]byte(key)) }

// indexLen is the length of a value in indexBucket, and previousIndexLen
// its length in previousFormat.
const (
	indexLen         = 24
	previousIndexLen = 16
)

// indexRecord is a value of indexBucket: where the entry of a slot is in
// recencyBucket, its [acache.Entry.Size] and its [acache.Entry.Version]. The
// version is kept here, beside the size, so that Commit compares it reading
// 24 bytes, without decoding the entry.
type indexRecord struct {
	seq, size, version uint64
}

// parseIndex returns the indexRecord of a value of indexBucket, reporting
// false for a value that is not one.
func parseIndex(v []byte) (indexRecord, bool) {
	if len(v) != indexLen {
		return indexRecord{}, false
	}
	return indexRecord{
		seq:     binary.BigEndian.Uint64(v),
		size:    binary.BigEndian.Uint64(v[8:]),
		version: binary.BigEndian.Uint64(v[16:]),
	}, true
}

// encode returns r as a value of indexBucket.
func (r indexRecord) encode() []byte {
	v := make([]byte, 0, indexLen)
	v = binary.BigEndian.AppendUint64(v, r.seq)
	v = binary.BigEndian.AppendUint64(v, r.size)
	return binary.BigEndian.AppendUint64(v, r.version)
}

// encodeRecord returns the value stored in entriesBucket for key.
func encodeRecord(key string, encoding []byte) []byte {
	buf := make([]byte, 0, binary.MaxVarintLen64+len(key)+len(encoding))
	buf = binary.AppendUvarint(buf, uint64(len(key)))
	buf = append(buf, key...)
	return append(buf, encoding...)
}

// splitRecord splits a value of entriesBucket into the key and the encoded
// entry, reporting false for a value that is not a record.
func splitRecord(v []byte) (key, encoding []byte, ok bool) {
	n, size := binary.Uvarint(v)
	if size <= 0 || n > uint64(len(v)-size) {
		return nil, nil, false
	}
	v = v[size:]
	return v[:n], v[n:], true
}

// decodeRecord decodes an encoded entry. UnmarshalBinary copies everything
// it keeps, so encoding may be memory that bbolt owns.
func decodeRecord(encoding []byte) (*acache.Entry, error) {
	e := new(acache.Entry)
	if err := e.UnmarshalBinary(encoding); err != nil {
		return nil, err
	}
	return e, nil
}

// seqKey returns the recencyBucket key of sequence number n.
func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// buckets are the buckets of one transaction.
type buckets struct {
	entries, index, recency, listed, listedIn, meta *bolt.Bucket
}

// bucketNames are the names of the buckets, which Open creates.
var bucketNames = [][]byte{entriesBucket, indexBucket, recencyBucket, listedBucket, listedInBucket, metaBucket}

// bucketsOf returns the buckets of tx, which Open created.
func bucketsOf(tx *bolt.Tx) (buckets, error) {
	b := buckets{
		entries:  tx.Bucket(entriesBucket),
		index:    tx.Bucket(indexBucket),
		recency:  tx.Bucket(recencyBucket),
		listed:   tx.Bucket(listedBucket),
		listedIn: tx.Bucket(listedInBucket),
		meta:     tx.Bucket(metaBucket),
	}
	if b.entries == nil || b.index == nil || b.recency == nil || b.listed == nil || b.listedIn == nil || b.meta == nil {
		return b, fmt.Errorf("diskcache: a bucket is missing from the database")
	}
	return b, nil
}

// lookup returns the encoded entry stored in s, in entries, if it is stored under key, or nil.
// It reports an error wrapping ErrCorruptEntry for a value that is not a
// record. The slices point into bbolt's memory: valid inside tx only.
func lookup(entries *bolt.Bucket, s *slot, key string) (encoding []byte, err error) {
	v := entries.Get(s[:])
	if v == nil {
		return nil, nil
	}
	k, encoding, ok := splitRecord(v)
	if !ok {
		return nil, fmt.Errorf("%w: a record without its key", acache.ErrCorruptEntry)
	}
	if string(k) != key {
		return nil, nil // another key with the same hash: not this one's entry
	}
	return encoding, nil
}

// counter returns the counter name of the meta bucket.
func counter(meta *bolt.Bucket, name []byte) uint64 {
	if v := meta.Get(name); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// addCounters adds entries and size to the counters of the meta bucket.
func (b buckets) addCounters(entries, size int64) error {
	count := max(0, int64(counter(b.meta, metaCount))+entries)
	total := max(0, int64(counter(b.meta, metaBytes))+size)
	if err := b.meta.Put(metaCount, seqKey(uint64(count))); err != nil {
		return err
	}
	return b.meta.Put(metaBytes, seqKey(uint64(total)))
}

// version returns the [acache.Entry.Version] of the entry stored in s under
// key, read from its index record: 0 when s holds no entry, another key's,
// or a record without its key.
func (b buckets) version(s *slot, key string) uint64 {
	if encoding, err := lookup(b.entries, s, key); encoding == nil || err != nil {
		return 0
	}
	r, _ := parseIndex(b.index.Get(s[:]))
	return r.version
}

// remove deletes whatever is stored in s from every bucket but the
// partition indexes, and uncounts it. It reports whether s held a counted
// entry.
func (b buckets) remove(s *slot) (removed bool, err error) {
	if v := b.index.Get(s[:]); v != nil {
		r, counted := parseIndex(v)
		if counted {
			removed = true
			if err := b.recency.Delete(seqKey(r.seq)); err != nil {
				return false, err
			}
		}
		if err := b.index.Delete(s[:]); err != nil {
			return false, err
		}
		if counted {
			if err := b.addCounters(-1, -int64(r.size)); err != nil {
				return false, err
			}
		}
	}
	return removed, b.entries.Delete(s[:])
}

// put stores record in s as the newest entry, of the given size and
// version, replacing what s held. It leaves the partition indexes alone: a
// listed key stays listed.
func (b buckets) put(s *slot, record []byte, size int64, version uint64) error {
	if _, err := b.remove(s); err != nil {
		return err
	}
	seq, err := b.recency.NextSequence()
	if err != nil {
		return err
	}
	hash := bytes.Clone(s[:]) // bbolt keeps keys and values until the commit
	if err := b.recency.Put(seqKey(seq), hash); err != nil {
		return err
	}
	r := indexRecord{seq: seq, size: uint64(size), version: version}
	if err := b.index.Put(hash, r.encode()); err != nil {
		return err
	}
	if err := b.entries.Put(hash, record); err != nil {
		return err
	}
	return b.addCounters(1, size)
}

// touch makes the entry in s, if it is stored under key, the newest.
func (b buckets) touch(s *slot, key string) error {
	r, ok := parseIndex(b.index.Get(s[:]))
	if !ok {
		return nil // removed since: a touch never brings an entry back
	}
	if encoding, err := lookup(b.entries, s, key); encoding == nil || err != nil {
		return nil
	}
	if r.seq == b.recency.Sequence() {
		return nil // the newest already
	}
	seq, err := b.recency.NextSequence()
	if err != nil {
		return err
	}
	if err := b.recency.Delete(seqKey(r.seq)); err != nil {
		return err
	}
	hash := bytes.Clone(s[:])
	if err := b.recency.Put(seqKey(seq), hash); err != nil {
		return err
	}
	r.seq = seq
	return b.index.Put(hash, r.encode())
}

// oldest returns the recency key (a copy) and the slot of the least
// recently used entry whose slot is not skip (nil: none), deleting on the
// way the recency records that name no slot; found is false when there is
// none.
func (b buckets) oldest(skip *slot) (seq []byte, s slot, found bool, err error) {
	for {
		c := b.recency.Cursor()
		k, v := c.First()
		for k != nil && skip != nil && bytes.Equal(v, skip[:]) {
			k, v = c.Next()
		}
		if k == nil {
			return nil, s, false, nil
		}
		seq = bytes.Clone(k)
		if len(v) == len(s) {
			copy(s[:], v)
			return seq, s, true, nil
		}
		if err := b.recency.Delete(seq); err != nil { // not a slot: drop the stray record
			return nil, s, false, err
		}
	}
}

// evict removes the entry in s, which the recency record seq names, the
// record (if the index disagreed) and s's listing in a partition index, and
// reports whether s held a counted entry.
func (b buckets) evict(seq []byte, s *slot) (removed bool, err error) {
	if removed, err = b.remove(s); err != nil {
		return false, err
	}
	if err := b.recency.Delete(seq); err != nil {
		return false, err
	}
	return removed, b.unlist(s)
}
