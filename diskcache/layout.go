package diskcache

// This file holds the layout of the database: its buckets, how a key maps to
// a bbolt key, how a record is encoded, and the operations on one slot that
// keep the buckets and the counters consistent within a write transaction.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/acachecontrol/acache"
	bolt "go.etcd.io/bbolt"
)

// formatVersion identifies the layout below; Open refuses a database written
// in another one.
const formatVersion = 1

var (
	// entriesBucket maps the hash of a key to uvarint(len(key)) key
	// encoding, where encoding is what [acache.Entry.MarshalBinary] returns.
	entriesBucket = []byte("entries")
	// indexBucket maps the hash of a key to its place in recencyBucket and
	// its size: seq(8 bytes) size(8 bytes), both big-endian.
	indexBucket = []byte("index")
	// recencyBucket maps a sequence number (8 bytes, big-endian) to the
	// hash of a key: the oldest entry comes first. Its bbolt sequence is the
	// last number given out, so it survives restarts with the rest.
	recencyBucket = []byte("recency")
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

// indexLen is the length of a value in indexBucket.
const indexLen = 16

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
	entries, index, recency, meta *bolt.Bucket
}

// bucketsOf returns the buckets of tx, which Open created.
func bucketsOf(tx *bolt.Tx) (buckets, error) {
	b := buckets{
		entries: tx.Bucket(entriesBucket),
		index:   tx.Bucket(indexBucket),
		recency: tx.Bucket(recencyBucket),
		meta:    tx.Bucket(metaBucket),
	}
	if b.entries == nil || b.index == nil || b.recency == nil || b.meta == nil {
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

// remove deletes whatever is stored in s from every bucket and uncounts it.
func (b buckets) remove(s *slot) error {
	var size int64
	counted := false
	if v := b.index.Get(s[:]); v != nil {
		if len(v) == indexLen {
			var seq [8]byte
			copy(seq[:], v[:8])
			size = int64(binary.BigEndian.Uint64(v[8:]))
			counted = true
			if err := b.recency.Delete(seq[:]); err != nil {
				return err
			}
		}
		if err := b.index.Delete(s[:]); err != nil {
			return err
		}
	}
	if err := b.entries.Delete(s[:]); err != nil {
		return err
	}
	if counted {
		return b.addCounters(-1, -size)
	}
	return nil
}

// put stores record in s as the newest entry, of the given size, replacing
// what s held.
func (b buckets) put(s *slot, record []byte, size int64) error {
	if err := b.remove(s); err != nil {
		return err
	}
	seq, err := b.recency.NextSequence()
	if err != nil {
		return err
	}
	index := make([]byte, indexLen)
	binary.BigEndian.PutUint64(index, seq)
	binary.BigEndian.PutUint64(index[8:], uint64(size))
	hash := bytes.Clone(s[:]) // bbolt keeps keys and values until the commit
	if err := b.recency.Put(seqKey(seq), hash); err != nil {
		return err
	}
	if err := b.index.Put(hash, index); err != nil {
		return err
	}
	if err := b.entries.Put(hash, record); err != nil {
		return err
	}
	return b.addCounters(1, size)
}

// touch makes the entry in s, if it is stored under key, the newest.
func (b buckets) touch(s *slot, key string) error {
	v := b.index.Get(s[:])
	if len(v) != indexLen {
		return nil // removed since: a touch never brings an entry back
	}
	if encoding, err := lookup(b.entries, s, key); encoding == nil || err != nil {
		return nil
	}
	old := binary.BigEndian.Uint64(v[:8])
	size := binary.BigEndian.Uint64(v[8:])
	if old == b.recency.Sequence() {
		return nil // the newest already
	}
	seq, err := b.recency.NextSequence()
	if err != nil {
		return err
	}
	if err := b.recency.Delete(seqKey(old)); err != nil {
		return err
	}
	hash := bytes.Clone(s[:])
	if err := b.recency.Put(seqKey(seq), hash); err != nil {
		return err
	}
	index := make([]byte, indexLen)
	binary.BigEndian.PutUint64(index, seq)
	binary.BigEndian.PutUint64(index[8:], size)
	return b.index.Put(hash, index)
}
