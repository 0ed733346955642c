package diskcache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestCommitterConformance(t *testing.T) {
	acachetest.TestCommitter(t, func(t *testing.T) acache.Backend {
		return openTemp(t)
	})
}

// The URI key of the tests' partition indexes, and one of its keys with a
// partition.
const testURI = "GET https://example.com/u"

func testPartition(user string) string { return testURI + "\x00auth=" + user }

// committedEntry returns a valid entry for key, with a body of n bytes and
// a Version of its own.
func committedEntry(key string, n int) *acache.Entry {
	e := testEntry(key, n)
	e.Version = rand.Uint64() | 1
	return e
}

// commitOver commits a new entry under key over what key holds, listed in
// index (when not ""), within maxEntries, and returns it with the result.
func commitOver(t *testing.T, s *Store, key, index string, maxEntries int) (*acache.Entry, acache.CommitResult) {
	t.Helper()
	var version uint64
	old, err := s.Get(t.Context(), key)
	require.NoError(t, err)
	if old != nil {
		version = old.Version
	}
	e := committedEntry(key, 100)
	res, err := s.Commit(t.Context(), &acache.Commit{Key: key, Entry: e, IfVersion: version, Index: index,
		MaxEntries: maxEntries, MaxBytes: 1 << 30, MaxListed: 3})
	require.NoError(t, err, "Commit(%q)", key)
	require.True(t, res.Stored, "Commit(%q) = %+v", key, res)
	checkListings(t, s)
	return e, res
}

// checkListings checks that the two buckets of the partition indexes agree,
// each listing being the one its key's slot names and the reverse, and
// that every key listed has its entry.
func checkListings(t *testing.T, s *Store) {
	t.Helper()
	require.NoError(t, s.db.viewTx(func(tx *bolt.Tx) error {
		b, err := bucketsOf(tx)
		if err != nil {
			return err
		}
		listings := 0
		err = b.listed.ForEach(func(at, key []byte) error {
			listings++
			sl := slotOf(string(key))
			if !bytes.Equal(b.listedIn.Get(sl[:]), at) {
				return fmt.Errorf("the listing of %q is not the one its slot names", key)
			}
			if encoding, err := lookup(b.entries, &sl, string(key)); encoding == nil || err != nil {
				return fmt.Errorf("%q is listed without its entry (%v)", key, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n := b.listedIn.Stats().KeyN; n != listings {
			return fmt.Errorf("%d slots name a listing; %d listings", n, listings)
		}
		return nil
	}))
}

// What Commit and Pop remove, by eviction, by MaxListed or with an index,
// leaves the entries held in memory too, and what Commit stores is held
// there with its Version.
func TestCommitKeepsMemoryExact(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	a, _ := commitOver(t, s, "a", "", 10)
	assert.Same(t, a, s.Peek("a"), "the entry Commit stored is held in memory")
	commitOver(t, s, "b", "", 10)
	_, res := commitOver(t, s, "c", "", 2)
	assert.Equal(t, 1, res.Evicted)
	assert.Nil(t, s.Peek("a"), "an entry Commit evicted is still held in memory")

	var users []string
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		users = append(users, testPartition(user))
		commitOver(t, s, testPartition(user), testURI, 100)
	}
	assert.Nil(t, s.Peek(users[0]), "an entry MaxListed removed is still held in memory")
	listed, err := s.Listed(ctx, testURI)
	require.NoError(t, err)
	assert.Equal(t, users[1:], listed)
	for _, key := range users[1:] {
		require.NotNil(t, s.Peek(key))
	}
	_, err = s.Pop(ctx, testURI)
	require.NoError(t, err)
	checkListings(t, s)
	for _, key := range users {
		assert.Nil(t, s.Peek(key), "an entry the Pop of its URI removed is still held in memory")
		e, err := s.Get(ctx, key)
		require.NoError(t, err)
		assert.Nil(t, e, "an entry the Pop of its URI removed is still stored")
	}
	n, size, err := s.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "b and c are left")
	assert.Equal(t, testEntry("b", 100).Size()*2, size)
}

// The partition indexes and the versions survive a restart.
func TestRestartKeepsIndexesAndVersions(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir)
	require.NoError(t, err)
	var stored []*acache.Entry
	for _, user := range []string{"alice", "bob"} {
		e, _ := commitOver(t, s, testPartition(user), testURI, 100)
		stored = append(stored, e)
	}
	require.NoError(t, s.Close())

	s = openDir(t, dir)
	listed, err := s.Listed(ctx, testURI)
	require.NoError(t, err)
	assert.Equal(t, []string{testPartition("alice"), testPartition("bob")}, listed)
	got, err := s.Get(ctx, testPartition("alice"))
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, stored[0].Version, got.Version, "Get after a restart")
	res, err := s.Commit(ctx, &acache.Commit{Key: testPartition("alice"), Entry: committedEntry(testPartition("alice"), 1),
		IfVersion: 0, Index: testURI, MaxEntries: 100, MaxBytes: 1 << 30, MaxListed: 3})
	require.NoError(t, err)
	assert.True(t, res.Conflict, "a Commit over the version stored before the restart, as if none were")
	commitOver(t, s, testPartition("alice"), testURI, 100)
	_, err = s.Pop(ctx, testURI)
	require.NoError(t, err)
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "the Pop of the URI left what its index listed before the restart")
}

// A database of the previous layout (no partition indexes, no versions in
// the index) opens with its entries, their versions read from them (an
// entry that does not decode stays, and Get reports it corrupt), and is
// written in the new layout from then on.
func TestOpensPreviousLayout(t *testing.T) {
	dir := t.TempDir()
	keys := make([]string, 2*upgradeBatch+10) // more than one batch of the upgrade
	for i := range keys {
		keys[i] = fmt.Sprint("https://example.com/", i)
	}
	entries := writePreviousLayout(t, dir, keys)
	const damaged = 2
	corrupt(t, dir, keys[damaged], flipLastByte)
	ctx := t.Context()
	s := openDir(t, dir)
	require.NoError(t, s.Damage())
	n, size, err := s.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(keys), n)
	var want int64
	for i, key := range keys {
		want += entries[i].Size()
		e, err := s.Get(ctx, key)
		if i == damaged {
			assert.ErrorIs(t, err, acache.ErrCorruptEntry, "Get of the entry that does not decode")
			continue
		}
		require.NoError(t, err)
		require.NotNil(t, e, "Get(%q) after the upgrade", key)
		assert.Equal(t, entries[i].Version, e.Version)
	}
	assert.Equal(t, want, size)
	res, err := s.Commit(ctx, &acache.Commit{Key: keys[0], Entry: committedEntry(keys[0], 5),
		MaxEntries: 100, MaxBytes: 1 << 30, MaxListed: 3})
	require.NoError(t, err)
	assert.True(t, res.Conflict, "the version upgraded from the entry is not compared")
	commitOver(t, s, keys[0], "", 1<<20)
	key, _, err := s.PopOldest(ctx)
	require.NoError(t, err)
	assert.Equal(t, keys[1], key, "the recency order did not survive the upgrade")
	require.NoError(t, s.db.viewTx(func(tx *bolt.Tx) error {
		assert.Equal(t, []byte{formatVersion}, tx.Bucket(metaBucket).Get(metaFormat))
		return nil
	}))
}

// writePreviousLayout writes a database of previousFormat in dir holding
// keys, oldest first, and returns their entries.
func writePreviousLayout(t *testing.T, dir string, keys []string) []*acache.Entry {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, fileName), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	var entries []*acache.Entry
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		var b buckets
		for _, p := range []struct {
			b    **bolt.Bucket
			name []byte
		}{{&b.entries, entriesBucket}, {&b.index, indexBucket}, {&b.recency, recencyBucket}, {&b.meta, metaBucket}} {
			var err error
			if *p.b, err = tx.CreateBucket(p.name); err != nil {
				return err
			}
		}
		for i, key := range keys {
			e := committedEntry(key, i%100)
			entries = append(entries, e)
			encoding, err := e.MarshalBinary()
			if err != nil {
				return err
			}
			sl, seq := slotOf(key), uint64(i+1)
			index := append(seqKey(seq), seqKey(uint64(e.Size()))...)
			if err := firstError(b.entries.Put(sl[:], encodeRecord(key, encoding)), b.index.Put(sl[:], index),
				b.recency.Put(seqKey(seq), sl[:]), b.addCounters(1, e.Size())); err != nil {
				return err
			}
		}
		if err := b.recency.SetSequence(uint64(len(keys))); err != nil {
			return err
		}
		return b.meta.Put(metaFormat, []byte{previousFormat})
	}))
	return entries
}

// firstError returns the first of errs that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
