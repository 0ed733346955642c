package diskcache

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lenOf returns the number of entries s holds.
func lenOf(t *testing.T, s *Store) int {
	t.Helper()
	n, err := s.Len(t.Context())
	require.NoError(t, err)
	return n
}

// Commit reports the entries the Store holds once it stored: after new
// keys, a replaced key, evictions past MaxEntries and removals past
// MaxListed.
func TestCommitReportsEntries(t *testing.T) {
	s := openTemp(t)
	for i, key := range []string{"a", "b", "c"} {
		_, res := commitOver(t, s, key, "", 10)
		assert.Equal(t, i+1, res.Entries, "after the Commit of %q", key)
	}
	_, res := commitOver(t, s, "b", "", 10)
	assert.Equal(t, 3, res.Entries, "after the Commit that replaced b")
	_, res = commitOver(t, s, "d", "", 3)
	assert.Equal(t, 1, res.Evicted)
	assert.Equal(t, 3, res.Entries, "after a Commit that evicted one entry under MaxEntries 3")
	_, res = commitOver(t, s, "e", "", 1)
	assert.Equal(t, 3, res.Evicted)
	assert.Equal(t, 1, res.Entries, "after a Commit that evicted every other entry")
	for i, user := range []string{"alice", "bob", "carol", "dave"} {
		_, res = commitOver(t, s, testPartition(user), testURI, 100)
		assert.Equal(t, min(i+2, 4), res.Entries, "after the Commit of %s's key (MaxListed 3)", user)
		assert.Equal(t, lenOf(t, s), res.Entries)
	}
	n, size, err := s.Size(t.Context())
	require.NoError(t, err)
	assert.Equal(t, n, res.Entries)
	assert.Equal(t, size, res.Bytes)
}

// A Cache over a Store reports in Stats().Entries what the Store holds,
// after stores, evictions, stores under users' partitions, an unsafe
// request's invalidation, a Purge and Clear.
func TestStatsEntriesOverAStore(t *testing.T) {
	const maxEntries = 5
	o := newOrigin(t, nil)
	s := openTemp(t)
	tr := newTransport(t, s, acache.WithMaxEntries(maxEntries))
	c := tr.Cache
	held := func(when string) int {
		t.Helper()
		var n int
		assert.Eventually(t, func() bool {
			n = lenOf(t, s)
			return c.Stats().Entries == int64(n)
		}, liveness, 5*time.Millisecond, "Stats().Entries %s: %d; the Store holds %d", when, c.Stats().Entries, n)
		_, size, err := s.Size(t.Context())
		require.NoError(t, err)
		assert.Equal(t, size, c.Stats().Bytes, "Stats().Bytes %s", when)
		return n
	}
	for i := 1; i <= maxEntries+2; i++ {
		fetch(t, tr, fmt.Sprintf("%s/%d", o.URL, i))
		assert.Equal(t, min(i, maxEntries), held(fmt.Sprintf("after %d stores", i)))
	}
	assert.EqualValues(t, 2, c.Stats().Evictions)

	for _, user := range []string{"alice", "bob"} {
		_, _, err := send(t, tr, http.MethodGet, o.URL+"/u", user, false)
		require.NoError(t, err)
	}
	fetch(t, tr, o.URL+"/u")
	assert.Equal(t, maxEntries, held("after the stores of /u"))
	_, _, err := send(t, tr, http.MethodPost, o.URL+"/u", "carol", false)
	require.NoError(t, err)
	assert.Equal(t, maxEntries-3, held("after the invalidation of /u and its two users' copies"))

	for _, user := range []string{"alice", "bob"} {
		_, _, err := send(t, tr, http.MethodGet, o.URL+"/v", user, false)
		require.NoError(t, err)
	}
	before := held("after the stores of /v")
	require.NoError(t, c.Purge(t.Context(), o.URL+"/v"))
	assert.Equal(t, before-2, held("after the purge of /v"))

	require.NoError(t, c.Clear(t.Context()))
	assert.Zero(t, held("after Clear"))
}
