package rediscache

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformance runs the Backend conformance suite on Stores over client, with
// one shard and with several.
func conformance(t *testing.T, client redis.UniversalClient) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			acachetest.TestBackend(t, func(t *testing.T) acache.Backend {
				s := New(client, WithPrefix(newPrefix(t, client)), WithShards(shards))
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

func TestConformance(t *testing.T) {
	conformance(t, newClient(t))
}

func TestConformanceCluster(t *testing.T) {
	conformance(t, newClusterClient(t))
}

// testEntry returns an entry for key with a body of n bytes.
func testEntry(key string, n int) *acache.Entry {
	now := time.Now()
	return &acache.Entry{
		Key: key, StatusCode: 200, Proto: "HTTP/1.1",
		Header:      http.Header{"Cache-Control": {"max-age=60"}},
		Body:        make([]byte, n),
		RequestTime: now, ResponseTime: now,
	}
}

// bookkeeping checks that the counts of the Stores over one prefix agree
// with the entries stored under keys: Len is the number of them, Size the
// sum of their sizes, and the members in the LRU order are theirs.
func bookkeeping(t *testing.T, s *Store, keys []string) {
	t.Helper()
	ctx := t.Context()
	var live int
	var size int64
	for _, key := range keys {
		e, err := s.Get(ctx, key)
		require.NoError(t, err)
		if e != nil {
			live++
			size += e.Size()
		}
	}
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, live, n, "Len differs from the number of entries stored")
	_, got, err := s.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, size, got, "Size differs from the sum of the stored entries' Size")
	var members, sized int64
	for _, sh := range s.shards {
		members += s.client.ZCard(ctx, sh.keys[0]).Val()
		sized += s.client.HLen(ctx, sh.keys[1]).Val()
	}
	assert.Equal(t, int64(live), members, "members in the LRU order differ from the entries stored")
	assert.Equal(t, int64(live), sized, "members with a size differ from the entries stored")
}

// Stores in several processes (here: several clients) on one prefix never
// corrupt the order or the counts, whatever they do at once.
func TestBookkeepingUnderConcurrentStores(t *testing.T) {
	addr := redisAddr(t)
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			var stores []*Store
			var prefix string
			for i := range 4 {
				client := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { client.Close() })
				if i == 0 {
					prefix = newPrefix(t, client)
				}
				s := New(client, WithPrefix(prefix), WithShards(shards))
				t.Cleanup(func() { s.Close() })
				stores = append(stores, s)
			}
			keys := make([]string, 24)
			for i := range keys {
				keys[i] = fmt.Sprintf("GET http://example.com/%d", i)
			}
			ctx := t.Context()
			var wg sync.WaitGroup
			for w, s := range stores {
				for g := range 3 {
					wg.Go(func() {
						for i := range 150 {
							key := keys[(w*7+g*5+i*3)%len(keys)]
							var err error
							switch i % 5 {
							case 0, 1:
								err = s.Set(ctx, key, testEntry(key, (w*1000+i*37)%3000))
							case 2:
								err = s.MoveToEnd(ctx, key)
							case 3:
								_, err = s.Pop(ctx, key)
							case 4:
								_, _, err = s.PopOldest(ctx)
							}
							if err != nil {
								t.Errorf("store %d: %v", w, err)
								return
							}
						}
					})
				}
			}
			wg.Wait()
			bookkeeping(t, stores[0], keys)
			// Draining through another Store leaves nothing counted.
			for {
				key, e, err := stores[1].PopOldest(ctx)
				require.NoError(t, err)
				if e == nil {
					break
				}
				assert.Equal(t, key, e.Key)
			}
			bookkeeping(t, stores[2], keys)
		})
	}
}

// An entry whose value Redis expired is counted until a script comes across
// it, and then forgotten, its bytes uncounted.
func TestExpiredValuesAreForgotten(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	expire := func(key string) {
		sh, member := s.locate(key)
		require.NoError(t, client.Del(ctx, sh.entryPrefix+member).Err())
	}
	keys := []string{"a", "b", "c", "d", "e"}
	for _, key := range keys {
		require.NoError(t, s.Set(ctx, key, testEntry(key, 100)))
	}
	expire("a")
	expire("b")
	expire("d")
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, n, "Len before the expired entries are come across counts them")

	key, e, err := s.PopOldest(ctx)
	require.NoError(t, err)
	require.NotNil(t, e, "PopOldest skips expired entries to the oldest live one")
	assert.Equal(t, "c", key)
	n, err = s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "Len after PopOldest: d is still counted, e live")
	e, err = s.Pop(ctx, "d")
	require.NoError(t, err)
	assert.Nil(t, e, "Pop of an expired entry returns nothing")
	bookkeeping(t, s, keys)

	require.NoError(t, s.Set(ctx, "f", testEntry("f", 10)))
	expire("f")
	require.NoError(t, s.MoveToEnd(ctx, "f"))
	require.NoError(t, s.flush(ctx), "sending the queued touch")
	bookkeeping(t, s, keys)
	ok, err := s.Contains(ctx, "f")
	require.NoError(t, err)
	assert.False(t, ok, "MoveToEnd brought back an expired entry")
}

// Every key a Store writes has a TTL: values the idle TTL, the bookkeeping
// a little more, so that an abandoned prefix goes entirely.
func TestKeysHaveTTLs(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	const idle = time.Hour
	s := New(client, WithPrefix(newPrefix(t, client)), WithIdleTTL(idle))
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
	require.NoError(t, s.MoveToEnd(ctx, "a"))
	require.NoError(t, s.flush(ctx), "sending the queued touch")
	sh, member := s.locate("a")
	for _, key := range append(sh.keys, sh.entryPrefix+member) {
		ttl, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "key %q has no TTL", key)
		assert.LessOrEqual(t, ttl, idle+metaSlack, "key %q lives longer than its TTL", key)
	}
	ttl := client.PTTL(ctx, sh.entryPrefix+member).Val()
	assert.LessOrEqual(t, ttl, idle, "an entry lives longer than the idle TTL")
	assert.Greater(t, client.PTTL(ctx, sh.keys[0]).Val(), ttl, "the LRU order expires before an entry it holds")
}

// Bytes that are not an entry are an error wrapping ErrCorruptEntry, and Pop
// removes them with their count; another key's entry is a miss.
func TestBadValues(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
	require.NoError(t, s.Set(ctx, "b", testEntry("b", 20)))
	shA, memberA := s.locate("a")
	shB, memberB := s.locate("b")

	require.NoError(t, client.Set(ctx, shA.entryPrefix+memberA, "junk", 0).Err())
	_, err := s.Get(ctx, "a")
	assert.ErrorIs(t, err, acache.ErrCorruptEntry, "Get of junk bytes")
	_, err = s.Pop(ctx, "a")
	assert.ErrorIs(t, err, acache.ErrCorruptEntry, "Pop of junk bytes")
	bookkeeping(t, s, []string{"a", "b"})

	// b's value copied under c's key: c is not b.
	require.NoError(t, s.Set(ctx, "c", testEntry("c", 30)))
	shC, memberC := s.locate("c")
	value := client.Get(ctx, shB.entryPrefix+memberB).Val()
	require.NoError(t, client.Set(ctx, shC.entryPrefix+memberC, value, 0).Err())
	e, err := s.Get(ctx, "c")
	require.NoError(t, err)
	assert.Nil(t, e, "Get returned an entry stored under another key")
}

// A Store without a client fails every call, without panicking.
func TestNoClient(t *testing.T) {
	s := New(nil)
	ctx := context.Background()
	_, err := s.Get(ctx, "a")
	assert.Error(t, err)
	assert.Error(t, s.Set(ctx, "a", testEntry("a", 1)))
	_, _, err = s.PopOldest(ctx)
	assert.Error(t, err)
	_, _, err = s.Size(ctx)
	assert.Error(t, err)
	assert.NoError(t, s.Close())
}

// Touches queued in one Store reach the order that other Stores see: at
// Close at the latest, in the order they were made.
func TestCloseSendsQueuedTouches(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	prefix := newPrefix(t, client)
	first, other := New(client, WithPrefix(prefix)), New(client, WithPrefix(prefix))
	t.Cleanup(func() { other.Close() })
	for _, key := range []string{"a", "b", "c", "d"} {
		require.NoError(t, first.Set(ctx, key, testEntry(key, 10)))
	}
	for _, key := range []string{"b", "a", "b", "x"} {
		require.NoError(t, first.MoveToEnd(ctx, key))
	}
	require.NoError(t, first.Close())
	require.NoError(t, first.Close(), "a second Close")
	var order []string
	for {
		key, e, err := other.PopOldest(ctx)
		require.NoError(t, err)
		if e == nil {
			break
		}
		order = append(order, key)
	}
	assert.Equal(t, []string{"c", "d", "a", "b"}, order, "the order another Store sees")
}
