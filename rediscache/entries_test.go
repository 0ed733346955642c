package rediscache

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commitUnder commits a new entry under key over what key holds, within
// maxEntries, listed in index when not "", and fails t unless it is stored.
func commitUnder(t *testing.T, s *Store, key, index string, maxEntries int) acache.CommitResult {
	t.Helper()
	var version uint64
	old, err := s.Get(t.Context(), key)
	require.NoError(t, err)
	if old != nil {
		version = old.Version
	}
	res, err := s.Commit(t.Context(), &acache.Commit{Key: key, Entry: committed(key, 100, version+2),
		IfVersion: version, Index: index, MaxEntries: maxEntries, MaxBytes: 1 << 30, MaxListed: 3})
	require.NoError(t, err)
	require.True(t, res.Stored, "Commit(%q) = %+v", key, res)
	return res
}

// shardLen returns the number of entries the shard of key holds.
func shardLen(t *testing.T, s *Store, key string) int {
	t.Helper()
	sh, _ := s.locate(key)
	n, err := s.client.ZCard(t.Context(), sh.keys[0]).Result()
	require.NoError(t, err)
	return int(n)
}

// Commit reports the entries the Store holds once it stored: after new
// keys, a replaced key, evictions past MaxEntries and removals past
// MaxListed, and over several scripts; from a Store of n shards, the count
// of the key's shard times n.
func TestCommitReportsEntries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
		shards int
	}{
		{"node", func(t *testing.T) redis.UniversalClient { return newClient(t) }, 1},
		{"node, 3 shards", func(t *testing.T) redis.UniversalClient { return newClient(t) }, 3},
		{"cluster, 3 shards", func(t *testing.T) redis.UniversalClient { return newClusterClient(t) }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client(t)
			s := New(client, WithPrefix(newPrefix(t, client)), WithShards(tc.shards))
			t.Cleanup(func() { s.Close() })
			n := tc.shards
			check := func(key string, res acache.CommitResult, want int, when string) {
				t.Helper()
				assert.Equal(t, n*shardLen(t, s, key), res.Entries, "%s: %d shards times the count of the key's", when, n)
				if n == 1 {
					assert.Equal(t, want, res.Entries, when)
				}
			}
			for i := range 3 {
				key := fmt.Sprint("GET http://example.com/", i)
				check(key, commitUnder(t, s, key, "", 30), i+1, "after the Commit of "+key)
			}
			key := "GET http://example.com/1"
			check(key, commitUnder(t, s, key, "", 30), 3, "after the Commit that replaced "+key)
			key = "GET http://example.com/3"
			res := commitUnder(t, s, key, "", 3*n)
			check(key, res, 3, "after a Commit under MaxEntries 3 a shard")
			uri := "GET http://example.com/u"
			for i, user := range []string{"alice", "bob", "carol", "dave"} {
				key := uri + "\x00auth=" + user
				res := commitUnder(t, s, key, uri, 100)
				check(key, res, min(i+4, 6), "after the Commit of "+user+"'s key (MaxListed 3)")
			}
			if n == 1 {
				res = commitUnder(t, s, "GET http://example.com/last", "", 1)
				assert.Equal(t, 6, res.Evicted)
				check("GET http://example.com/last", res, 1, "after a Commit that evicted every other entry")
			}
		})
	}
}

// A Commit that removes more entries than one script may reports the
// entries held once the last script stored.
func TestCommitReportsEntriesAfterRounds(t *testing.T) {
	client := newClient(t)
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	for i := range maxRemovals + 5 {
		commitFirst(t, s, committed(fmt.Sprint("k", i), 10, 1), "", 1<<20, 1<<40)
	}
	res := commitFirst(t, s, committed("last", 10, 1), "", 3, 1<<40)
	assert.Equal(t, maxRemovals+3, res.Evicted)
	assert.Equal(t, 3, res.Entries)
}

// drained reads resp's body to its end, so that what the Cache stores of
// it is stored, and closes it.
func drained(t *testing.T, resp *http.Response) {
	t.Helper()
	_, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
}

// A Cache over a Store of one shard reports in Stats().Entries what the
// Store holds, after stores, evictions, stores under users' partitions, an
// unsafe request's invalidation, a Purge and Clear.
func TestStatsEntriesOverAStore(t *testing.T) {
	const maxEntries = 5
	o := newOrigin(t, 100, cacheable)
	tr, c, s := newStoreTransport(t, newClient(t), 1, acache.WithMaxEntries(maxEntries),
		acache.WithBackendTimeout(10*time.Second))
	held := func(when string) int {
		t.Helper()
		var n int
		assert.Eventually(t, func() bool {
			var err error
			n, err = s.Len(t.Context())
			require.NoError(t, err)
			return c.Stats().Entries == int64(n)
		}, 10*time.Second, 5*time.Millisecond, "Stats().Entries %s: %d; the Store holds %d", when, c.Stats().Entries, n)
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
		drained(t, userGet(t, tr, http.MethodGet, o.URL+"/u", user, false))
	}
	fetch(t, tr, o.URL+"/u")
	assert.Equal(t, maxEntries, held("after the stores of /u"))
	drained(t, userGet(t, tr, http.MethodPost, o.URL+"/u", "carol", false))
	assert.Equal(t, maxEntries-3, held("after the invalidation of /u and its two users' copies"))

	for _, user := range []string{"alice", "bob"} {
		drained(t, userGet(t, tr, http.MethodGet, o.URL+"/v", user, false))
	}
	before := held("after the stores of /v")
	require.NoError(t, c.Purge(t.Context(), o.URL+"/v"))
	assert.Equal(t, before-2, held("after the purge of /v"))

	require.NoError(t, c.Clear(t.Context()))
	assert.Zero(t, held("after Clear"))
}
