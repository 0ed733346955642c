package diskcache

// This file holds the upgrade of a database of previousFormat, which Open
// runs in the transaction that creates the buckets the format lacks (see
// initialize): its entries are kept, and their index records gain the
// entries' versions.

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// upgradeBatch is how many index records upgradeIndex rewrites at a time,
// bounding what it holds in memory for a large store.
const upgradeBatch = 1024

// indexRewrite is a record of indexBucket to put: key, the slot, and value.
type indexRewrite struct {
	key, value []byte
}

// upgradeIndex rewrites the index records of previousFormat, seq(8)
// size(8), as indexRecords, with the Version of the entry each indexes. It
// decodes every entry once; an entry that does not decode gets version 0,
// and Get reports it corrupt as before.
func upgradeIndex(b buckets) error {
	for from := []byte{}; from != nil; {
		var batch []indexRewrite
		batch, from = previousRecords(b, from)
		for _, r := range batch {
			if err := b.index.Put(r.key, r.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// previousRecords returns the rewrites of up to upgradeBatch records of
// previousFormat in indexBucket, from the key from on, and the key to go on
// from, or nil at the end: the rewrites are put before the cursor moves on,
// since bbolt's cursors do not survive a change to their bucket.
func previousRecords(b buckets, from []byte) (batch []indexRewrite, next []byte) {
	c := b.index.Cursor()
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if len(batch) == upgradeBatch {
			return batch, bytes.Clone(k)
		}
		if len(v) != previousIndexLen {
			continue
		}
		r := indexRecord{seq: binary.BigEndian.Uint64(v), size: binary.BigEndian.Uint64(v[8:]), version: decodedVersion(b.entries, k)}
		batch = append(batch, indexRewrite{key: bytes.Clone(k), value: r.encode()})
	}
	return batch, nil
}

// decodedVersion returns the Version of the entry that entries holds under
// the slot s, or 0 if it holds none or one that does not decode.
func decodedVersion(entries *bolt.Bucket, s []byte) uint64 {
	_, encoding, ok := splitRecord(entries.Get(s))
	if !ok {
		return 0
	}
	e, err := decodeRecord(encoding)
	if err != nil {
		return 0
	}
	return e.Version
}
