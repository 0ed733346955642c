package rediscache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// committer runs the Committer conformance suite on Stores of one shard
// over client.
func committer(t *testing.T, client redis.UniversalClient) {
	acachetest.TestCommitter(t, func(t *testing.T) acache.Backend {
		s := New(client, WithPrefix(newPrefix(t, client)), WithShards(1))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestCommitter(t *testing.T) {
	committer(t, newClient(t))
}

func TestCommitterCluster(t *testing.T) {
	committer(t, newClusterClient(t))
}

// fleetOf returns a newBackends for acachetest.TestFleet: n Stores with
// shards shards on a new prefix, each through a client of its own made by
// newClient, as n processes would have.
func fleetOf(newClient func(t *testing.T) redis.UniversalClient, shards int) func(t *testing.T, n int) []acache.Backend {
	return func(t *testing.T, n int) []acache.Backend {
		var prefix string
		backends := make([]acache.Backend, n)
		for i := range backends {
			client := newClient(t)
			if i == 0 {
				prefix = newPrefix(t, client)
			}
			s := New(client, WithPrefix(prefix), WithShards(shards))
			t.Cleanup(func() { s.Close() })
			backends[i] = s
		}
		return backends
	}
}

func TestFleet(t *testing.T) {
	addr := redisAddr(t)
	acachetest.TestFleet(t, fleetOf(func(t *testing.T) redis.UniversalClient {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		return client
	}, 1))
}

func TestFleetCluster(t *testing.T) {
	addrs := clusterAddrs(t)
	acachetest.TestFleet(t, fleetOf(func(t *testing.T) redis.UniversalClient {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		t.Cleanup(func() { client.Close() })
		return client
	}, 3))
}

// committed returns an entry for key with a body of n bytes and a version
// of its own.
func committed(key string, n int, version uint64) *acache.Entry {
	e := testEntry(key, n)
	e.Version = version
	return e
}

// commitFirst commits e under key over nothing, within limits, and fails t
// unless it is stored.
func commitFirst(t *testing.T, s *Store, e *acache.Entry, index string, maxEntries int, maxBytes int64) acache.CommitResult {
	t.Helper()
	res, err := s.Commit(t.Context(), &acache.Commit{Key: e.Key, Entry: e, Index: index,
		MaxEntries: maxEntries, MaxBytes: maxBytes, MaxListed: 256})
	require.NoError(t, err)
	require.True(t, res.Stored, "Commit(%q) = %+v", e.Key, res)
	return res
}

// With WithShards(3), each shard holds at most a third of the limits, so
// that concurrent Commits from several Stores keep the whole store within
// them at every moment: Size sampled throughout never passes the byte
// limit, and the counts end equal to what is held.
func TestShardBoundsHoldOverall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"node", func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: redisAddr(t)})
		}},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(t)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shardBounds(t, fleetOf(func(t *testing.T) redis.UniversalClient {
				client := tc.client(t)
				t.Cleanup(func() { client.Close() })
				return client
			}, 3))
		})
	}
}

func shardBounds(t *testing.T, newStores func(t *testing.T, n int) []acache.Backend) {
	const (
		maxEntries = 30
		maxBytes   = 24 << 10
		writers    = 4 // per Store
	)
	stores := newStores(t, 3)
	ctx := t.Context()
	var over, entriesOver atomic.Int64 // the most seen over the limits
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			n, bytes, err := stores[0].(*Store).Size(ctx)
			if err != nil {
				t.Errorf("Size: %v", err)
				return
			}
			over.Store(max(over.Load(), bytes-maxBytes))
			entriesOver.Store(max(entriesOver.Load(), int64(n-maxEntries)))
		}
	})
	var wg sync.WaitGroup
	var biggest atomic.Int64
	for i, b := range stores {
		for w := range writers {
			wg.Go(func() {
				for j := range 60 {
					key := fmt.Sprintf("GET http://example.com/%d/%d/%d", i, w, j)
					e := committed(key, 200+(i*7+w*13+j*29)%1500, uint64(j+1))
					biggest.Store(max(biggest.Load(), e.Size()))
					if _, err := b.(*Store).Commit(ctx, &acache.Commit{Key: key, Entry: e,
						MaxEntries: maxEntries, MaxBytes: maxBytes, MaxListed: 256}); err != nil {
						t.Errorf("Commit: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	sampled.Wait()
	assert.LessOrEqual(t, over.Load(), int64(0), "bytes over the limit at one moment (an entry is at most %d)", biggest.Load())
	assert.LessOrEqual(t, entriesOver.Load(), int64(0), "entries over the limit at one moment")
	n, bytes, err := stores[1].(*Store).Size(ctx)
	require.NoError(t, err)
	held, sum := drain(t, stores[2])
	assert.Equal(t, held, n, "Size's count is not what the store held")
	assert.Equal(t, sum, bytes, "Size's bytes are not what the store held")
	assert.Positive(t, held, "nothing was held")
}

// drain pops every entry of b and returns how many it held and the sum of
// their sizes.
func drain(t *testing.T, b acache.Backend) (n int, sum int64) {
	t.Helper()
	for {
		_, e, err := b.PopOldest(t.Context())
		require.NoError(t, err)
		if e == nil {
			return n, sum
		}
		n, sum = n+1, sum+e.Size()
	}
}

// A Commit that must remove more entries than one script may removes them
// over several scripts, and stores once it fits; a Commit that cannot fit
// writes nothing first.
func TestCommitRemovesInRounds(t *testing.T) {
	client := newClient(t)
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	const stored = 3*maxRemovals + 5
	for i := range stored {
		commitFirst(t, s, committed(fmt.Sprint("k", i), 10, 1), "", 1<<20, 1<<40)
	}
	last := committed("last", 10, 1)
	res := commitFirst(t, s, last, "", 1, 1<<40)
	assert.Equal(t, stored, res.Evicted, "entries evicted for one under MaxEntries 1")
	assert.Equal(t, last.Size(), res.Bytes)
	n, bytes, err := s.Size(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, last.Size(), bytes)
}

// Commit keeps the version beside the value: a value whose version is not
// recorded (stored by Set with none, or left after the bookkeeping was
// deleted) is replaced whatever the caller read, and a value that expired
// has none.
func TestCommitVersions(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	commit := func(key string, e *acache.Entry, ifVersion uint64) acache.CommitResult {
		t.Helper()
		res, err := s.Commit(ctx, &acache.Commit{Key: key, Entry: e, IfVersion: ifVersion, MaxEntries: 100, MaxBytes: 1 << 30, MaxListed: 256})
		require.NoError(t, err)
		return res
	}
	require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
	assert.True(t, commit("a", committed("a", 10, 7), 0).Stored, "a Commit over a value stored with no version")
	assert.True(t, commit("a", committed("a", 10, 8), 1<<63+5).Conflict, "a Commit over version 7 with another")
	assert.True(t, commit("a", committed("a", 10, 1<<63+9), 7).Stored, "a Commit over version 7")
	got, err := s.Get(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<63+9), got.Version, "a version past 2^53 is kept exactly")
	assert.True(t, commit("a", committed("a", 10, 3), 1<<63+9).Stored, "a Commit over a version past 2^53")

	sh, member := s.locate("a")
	require.NoError(t, client.Del(ctx, sh.entryPrefix+member).Err()) // as if expired
	assert.True(t, commit("a", committed("a", 10, 4), 3).Conflict, "a Commit over an expired value, which has none")
	assert.True(t, commit("a", committed("a", 10, 5), 0).Stored, "a Commit over an expired value with none")
	bookkeeping(t, s, []string{"a"})

	require.NoError(t, client.Del(ctx, sh.all[3]).Err()) // the versions, as if deleted by repair
	assert.True(t, commit("a", committed("a", 10, 6), 42).Stored, "a Commit over a value whose version is lost")
}

// An index lives with its URI's keys: every key of one URI is in one shard,
// and Pop of the URI key removes what its index lists, from another Store
// too. Every key the Store writes has a TTL.
func TestIndexKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"node", func(t *testing.T) redis.UniversalClient { return newClient(t) }},
		{"cluster", func(t *testing.T) redis.UniversalClient { return newClusterClient(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client(t)
			indexKeys(t, client)
		})
	}
}

func indexKeys(t *testing.T, client redis.UniversalClient) {
	ctx := t.Context()
	const idle = time.Hour
	prefix := newPrefix(t, client)
	s := New(client, WithPrefix(prefix), WithShards(5), WithIdleTTL(idle))
	other := New(client, WithPrefix(prefix), WithShards(5), WithIdleTTL(idle))
	t.Cleanup(func() { s.Close(); other.Close() })
	const uri = "GET http://example.com/u"
	var keys []string
	for i := range 12 {
		key := fmt.Sprintf("%s%suser-%d", uri, partitionTag, i)
		keys = append(keys, key)
		commitFirst(t, s, committed(key, 10, 1), uri, 1000, 1<<30)
		sh, _ := s.locate(key)
		uriShard, _ := s.locate(uri)
		require.Same(t, uriShard, sh, "a key of the URI in another shard than the URI's")
	}
	commitFirst(t, s, committed(uri, 10, 1), "", 1000, 1<<30)
	listed, err := other.Listed(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, keys, listed, "Listed from another Store")

	sh, member := s.locate(uri)
	var written []string
	iter := client.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
	if cc, ok := client.(*redis.ClusterClient); ok {
		written = scanCluster(t, cc, prefix)
	} else {
		for iter.Next(ctx) {
			written = append(written, iter.Val())
		}
		require.NoError(t, iter.Err())
	}
	assert.Contains(t, written, sh.indexPrefix+member, "the index is not where it belongs")
	for _, key := range append(written, sh.all...) {
		ttl, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "key %q has no TTL", key)
		assert.LessOrEqual(t, ttl, idle+metaSlack, "key %q lives longer than its TTL", key)
	}

	e, err := other.Pop(ctx, uri)
	require.NoError(t, err)
	require.NotNil(t, e, "Pop of the URI key")
	for _, key := range keys {
		ok, err := s.Contains(ctx, key)
		require.NoError(t, err)
		assert.False(t, ok, "%q outlived the Pop of its URI", key)
	}
	listed, err = s.Listed(ctx, uri)
	require.NoError(t, err)
	assert.Empty(t, listed, "the index outlived the Pop of its URI")
	bookkeeping(t, s, append(keys, uri))
	for _, sh := range s.shards {
		assert.Zero(t, client.HLen(ctx, sh.all[4]).Val()+client.HLen(ctx, sh.all[5]).Val(), "listings left after the Pop")
	}

	// The shard's keys went with its last entries; a Commit makes them
	// afresh, each with its TTL, though the last Commit started the TTLs
	// again less than keepEvery before.
	commitFirst(t, s, committed(keys[0], 10, 2), uri, 1000, 1<<30)
	for _, key := range append(sh.all, sh.indexPrefix+member) {
		ttl, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "key %q has no TTL", key)
	}
}

// scanCluster returns the keys under prefix on every master of client.
func scanCluster(t *testing.T, client *redis.ClusterClient, prefix string) []string {
	var mu sync.Mutex
	var keys []string
	err := client.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	require.NoError(t, err)
	return keys
}

// Keys of another type than the Store writes in place of an index, or of
// the new bookkeeping, never wedge a URI: the call that meets them fails or
// does without, and the next works.
func TestWrongTypesInIndexes(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	const uri = "GET http://example.com/w"
	alice, bob := uri+partitionTag+"alice", uri+partitionTag+"bob"
	commitFirst(t, s, committed(alice, 10, 1), uri, 100, 1<<30)
	sh, member := s.locate(uri)
	require.NoError(t, client.Del(ctx, sh.indexPrefix+member).Err())
	require.NoError(t, client.Set(ctx, sh.indexPrefix+member, "junk", 0).Err())
	listed, err := s.Listed(ctx, uri)
	require.NoError(t, err, "Listed over an index of another type")
	assert.Empty(t, listed)
	require.NoError(t, client.RPush(ctx, sh.indexPrefix+member, "junk").Err())
	commitFirst(t, s, committed(bob, 10, 1), uri, 100, 1<<30)
	listed, err = s.Listed(ctx, uri)
	require.NoError(t, err)
	assert.Equal(t, []string{bob}, listed, "the index made again")
	_, err = s.Pop(ctx, alice)
	require.NoError(t, err, "Pop of a key whose index was replaced")

	for i, plant := range []func(key string) error{
		func(key string) error { return client.Set(ctx, key, "versions", 0).Err() },
		func(key string) error { return client.RPush(ctx, key, "listed").Err() },
		func(key string) error { return client.SAdd(ctx, key, "listedin").Err() },
	} {
		key := sh.all[3+i]
		require.NoError(t, client.Del(ctx, key).Err())
		require.NoError(t, plant(key))
		var errs []error
		for range 2 {
			err := storeListed(ctx, s, alice, uri)
			if err == nil {
				break
			}
			errs = append(errs, err)
		}
		assert.Len(t, errs, 1, "the calls over %s of another type that failed", key)
	}
}

// storeListed commits a new entry under key, listed in the index of uri,
// over what it holds, and checks that the index lists it.
func storeListed(ctx context.Context, s *Store, key, uri string) error {
	var version uint64
	if old, err := s.Get(ctx, key); err != nil {
		return err
	} else if old != nil {
		version = old.Version
	}
	res, err := s.Commit(ctx, &acache.Commit{Key: key, Entry: committed(key, 10, version+1), IfVersion: version,
		Index: uri, MaxEntries: 100, MaxBytes: 1 << 30, MaxListed: 256})
	if err != nil {
		return err
	}
	if !res.Stored {
		return fmt.Errorf("Commit = %+v", res)
	}
	listed, err := s.Listed(ctx, uri)
	if err != nil {
		return err
	}
	if !slices.Contains(listed, key) {
		return fmt.Errorf("Listed = %q, without %q", listed, key)
	}
	return nil
}

// Touches queued by a Store ride along in its next Commit on their shard:
// the Commit evicts by the order the calls made, at no round trip more.
func TestCommitCarriesTouches(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	for _, key := range []string{"a", "b", "c"} {
		commitFirst(t, s, committed(key, 10, 1), "", 100, 1<<30)
	}
	require.NoError(t, s.MoveToEnd(ctx, "a"))
	require.NoError(t, s.MoveToEnd(ctx, "b"))
	res := commitFirst(t, s, committed("d", 10, 1), "", 3, 1<<30)
	assert.Equal(t, 1, res.Evicted)
	var left []string
	for _, key := range []string{"a", "b", "c", "d"} {
		if ok, _ := s.Contains(ctx, key); ok {
			left = append(left, key)
		}
	}
	assert.Equal(t, []string{"a", "b", "d"}, left, "the Commit evicted another than the least recently used")
	s.touches.mu.Lock()
	pending := slices.Clone(s.touches.pending)
	s.touches.mu.Unlock()
	assert.Empty(t, pending, "touches left queued")
}
