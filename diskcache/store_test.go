package diskcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestRestartKeepsEntries(t *testing.T) {
	dir := t.TempDir()
	o := newOrigin(t, nil)
	urls := []string{o.URL + "/a", o.URL + "/b", o.URL + "/c"}

	s, err := Open(dir)
	require.NoError(t, err)
	tr := acache.NewTransport(acache.NewCache(s, acache.WithBackendTimeout(liveness)))
	for _, u := range urls {
		_, hit := fetch(t, tr, u)
		require.False(t, hit, "the first request for %s was a hit", u)
	}
	require.NoError(t, tr.Close())
	require.NoError(t, s.Close())
	require.EqualValues(t, 3, o.requests.Load())

	s2 := openDir(t, dir)
	tr2 := newTransport(t, s2)
	for _, u := range urls {
		body, hit := fetch(t, tr2, u)
		assert.True(t, hit, "GET %s after a restart went to the origin", u)
		assert.Equal(t, "response for "+strings.TrimPrefix(u, o.URL), body)
	}
	assert.EqualValues(t, 3, o.requests.Load(), "the origin was asked again after a restart")
}

func TestRestartKeepsOrderAndCounters(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir)
	require.NoError(t, err)
	for i := range 6 {
		key := fmt.Sprintf("key-%d", i)
		require.NoError(t, s.Set(ctx, key, testEntry(key, i*100)))
	}
	require.NoError(t, s.MoveToEnd(ctx, "key-1"))
	require.NoError(t, s.MoveToEnd(ctx, "key-0"))
	require.NoError(t, s.MoveToEnd(ctx, "absent"))
	n, err := s.Len(ctx)
	require.NoError(t, err)
	_, size, err := s.Size(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close(), "Close, which writes the moves")
	require.NoError(t, s.Close(), "a second Close")
	assert.ErrorIs(t, s.MoveToEnd(ctx, "key-2"), ErrClosed)

	s2 := openDir(t, dir)
	n2, err := s2.Len(ctx)
	require.NoError(t, err)
	_, size2, err := s2.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, n2, "Len after a restart")
	assert.Equal(t, size, size2, "Size after a restart")
	var order []string
	for {
		key, e, err := s2.PopOldest(ctx)
		require.NoError(t, err)
		if e == nil {
			break
		}
		order = append(order, key)
	}
	assert.Equal(t, []string{"key-2", "key-3", "key-4", "key-5", "key-1", "key-0"}, order,
		"the LRU order after a restart differs from the order before")
}

// corrupt overwrites the stored bytes of key's entry, in the store in dir
// (closed), with what change makes of them.
func corrupt(t *testing.T, dir, key string, change func([]byte) []byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, fileName), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	sl := slotOf(key)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(entriesBucket)
		v := b.Get(sl[:])
		if v == nil {
			return errors.New("no entry to corrupt")
		}
		return b.Put(sl[:], change(append([]byte(nil), v...)))
	}))
}

func flipLastByte(v []byte) []byte { v[len(v)-1] ^= 0xff; return v }

func TestCorruptEntryIsAnErrorAndRemoved(t *testing.T) {
	ctx := t.Context()
	for name, change := range map[string]func([]byte) []byte{
		"flipped byte": flipLastByte,
		"truncated":    func(v []byte) []byte { return v[:len(v)/2] },
		"no key":       func([]byte) []byte { return []byte{0xff} },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			require.NoError(t, err)
			require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
			require.NoError(t, s.Set(ctx, "b", testEntry("b", 20)))
			require.NoError(t, s.Close())
			corrupt(t, dir, "a", change)

			s = openDir(t, dir)
			e, err := s.Get(ctx, "a")
			assert.ErrorIs(t, err, acache.ErrCorruptEntry, "Get of a corrupt entry")
			assert.Nil(t, e)
			key, e, err := s.PopOldest(ctx)
			assert.ErrorIs(t, err, acache.ErrCorruptEntry, "PopOldest of a corrupt entry")
			assert.Nil(t, e)
			if name != "no key" {
				assert.Equal(t, "a", key, "PopOldest names the corrupt entry")
			}
			n, err := s.Len(ctx)
			require.NoError(t, err)
			_, size, err := s.Size(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, n, "Len after PopOldest removed a corrupt entry")
			assert.Equal(t, testEntry("b", 20).Size(), size, "Size after PopOldest removed a corrupt entry")
			ok, err := s.Contains(ctx, "a")
			require.NoError(t, err)
			assert.False(t, ok, "the corrupt entry is still stored")
		})
	}
}

func TestCorruptEntryThroughTransport(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	o := newOrigin(t, nil)
	s, err := Open(dir)
	require.NoError(t, err)
	tr := acache.NewTransport(acache.NewCache(s, acache.WithBackendTimeout(liveness)))
	fetch(t, tr, o.URL+"/x")
	require.NoError(t, tr.Close())
	key, e, err := s.PopOldest(ctx) // learn the Cache's key for the URL
	require.NoError(t, err)
	require.NotNil(t, e, "the response was not stored")
	require.NoError(t, s.Set(ctx, key, e))
	require.NoError(t, s.Close())
	corrupt(t, dir, key, flipLastByte)

	s = openDir(t, dir)
	tr = newTransport(t, s)
	body, hit := fetch(t, tr, o.URL+"/x")
	assert.False(t, hit, "a corrupt entry was served")
	assert.Equal(t, "response for /x", body, "the caller did not get the origin's answer")
	assert.EqualValues(t, 2, o.requests.Load())
	e, err = s.Get(ctx, key)
	require.NoError(t, err, "the corrupt entry is still stored")
	require.NotNil(t, e, "the origin's answer was not stored in place of the corrupt entry")
	assert.Equal(t, "response for /x", string(e.Body))
}

func TestHostileKeys(t *testing.T) {
	ctx := t.Context()
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := openDir(t, dir)
	keys := []string{
		"../../../../etc/passwd",
		"/../" + strings.Repeat("../", 100) + "x",
		"a/b/c",
		"nul\x00byte",
		"\x00",
		strings.Repeat("k", 100<<10),
		"\xff\xfe invalid utf-8 \xc3\x28",
		`C:\Windows\..\x`,
	}
	for i, key := range keys {
		require.NoError(t, s.Set(ctx, key, testEntry(key, i)), "Set(%.40q)", key)
	}
	for i, key := range keys {
		e, err := s.Get(ctx, key)
		require.NoError(t, err, "Get(%.40q)", key)
		require.NotNil(t, e, "Get(%.40q)", key)
		assert.Equal(t, key, e.Key)
		assert.Len(t, e.Body, i)
	}
	for i, key := range keys {
		got, e, err := s.PopOldest(ctx)
		require.NoError(t, err)
		require.NotNil(t, e)
		assert.Equal(t, key, got, "PopOldest #%d", i+1)
	}

	var files []string
	require.NoError(t, filepath.WalkDir(parent, func(path string, _ os.DirEntry, err error) error {
		files = append(files, path)
		return err
	}))
	assert.Equal(t, []string{parent, dir, filepath.Join(dir, fileName)}, files,
		"the store created files other than its database")
}

func TestTwoHandlesShareEntries(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a := openDir(t, dir)
	b := openDir(t, filepath.Join(dir, ".", "..", filepath.Base(dir)))
	require.NoError(t, a.Set(ctx, "k", testEntry("k", 5)))
	e, err := b.Get(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, e, "an entry set through one handle is not seen through the other")
	require.NoError(t, b.Set(ctx, "j", testEntry("j", 5)))
	require.NoError(t, b.MoveToEnd(ctx, "k"))
	key, _, err := a.PopOldest(ctx)
	require.NoError(t, err)
	assert.Equal(t, "j", key, "a move through one handle is not seen by the other")

	require.NoError(t, a.Close())
	_, err = a.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrClosed)
	e, err = b.Get(ctx, "k")
	require.NoError(t, err, "closing one handle closed the other")
	assert.NotNil(t, e)
}

func TestContextDone(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Get(ctx, "a")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Error(t, s.Set(ctx, "a", testEntry("a", 1)))
	n, err := s.Len(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "Set stored an entry with a done context")
}

func TestWholeStoreLimits(t *testing.T) {
	const maxBytes = 20 << 10
	dir := t.TempDir()
	o := newOrigin(t, []byte(strings.Repeat("b", 1500)))
	a, b := openDir(t, dir), openDir(t, dir)
	ta := newTransport(t, a, acache.WithMaxBytes(maxBytes))
	tb := newTransport(t, b, acache.WithMaxBytes(maxBytes))
	for i := range 60 {
		tr := ta
		if i%2 == 1 {
			tr = tb
		}
		fetch(t, tr, fmt.Sprintf("%s/%d", o.URL, i))
		_, size, err := a.Size(t.Context())
		require.NoError(t, err)
		require.LessOrEqual(t, size, int64(maxBytes), "after %d stores", i+1)
	}
	n, err := b.Len(t.Context())
	require.NoError(t, err)
	assert.Greater(t, n, 5, "the limit evicted more than it needed to")
}

func TestOpenErrors(t *testing.T) {
	_, err := Open("")
	assert.Error(t, err, "Open of an empty name")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	_, err = Open(file)
	assert.Error(t, err, "Open of a file")
	// A file that is not a database is damage: see TestDamagedFileIsMovedAside.
}

// Peek answers from the entries the database holds decoded in memory, and
// only from them: never from the file, never after Close.
func TestPeekAnswersFromMemory(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := t.Context()
	const key = "GET https://example.com/peek"
	assert.Nil(t, s.Peek(key), "nothing stored")
	e := testEntry(key, 100)
	require.NoError(t, s.Set(ctx, key, e))
	assert.Same(t, e, s.Peek(key), "the entry stored is held in memory")
	assert.Nil(t, s.Peek("GET https://example.com/other"))
	_, err := s.Pop(ctx, key)
	require.NoError(t, err)
	assert.Nil(t, s.Peek(key), "a removed entry is gone from memory too")

	require.NoError(t, s.Set(ctx, key, e))
	require.NoError(t, s.Close())
	assert.Nil(t, s.Peek(key), "a closed Store answers nothing")
	reopened := openDir(t, dir)
	assert.Nil(t, reopened.Peek(key), "after a restart, only Get reads the file")
	got, err := reopened.Get(ctx, key)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.NotNil(t, reopened.Peek(key), "what Get decoded is held in memory")
}
