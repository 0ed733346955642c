package rediscache

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newStoreTransport returns a Transport over a Cache over a Store with
// shards shards on a prefix of its own through client, all closed when t
// ends.
func newStoreTransport(t *testing.T, client redis.UniversalClient, shards int, opts ...acache.Option) (*acache.Transport, *acache.Cache, *Store) {
	store := New(client, WithPrefix(newPrefix(t, client)), WithShards(shards))
	cache := acache.NewCache(store, opts...)
	transport := acache.NewTransport(cache)
	t.Cleanup(func() {
		transport.Close()
		store.Close()
	})
	return transport, cache, store
}

// valueKeys returns the Redis keys of the values in s's LRU order, oldest
// first.
func valueKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var members []redis.Z
	for _, sh := range s.shards {
		z, err := s.client.ZRangeWithScores(t.Context(), sh.keys[0], 0, -1).Result()
		require.NoError(t, err)
		for _, m := range z {
			m.Member = sh.entryPrefix + m.Member.(string)
			members = append(members, m)
		}
	}
	slices.SortFunc(members, func(a, b redis.Z) int { return cmp.Compare(a.Score, b.Score) })
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.Member.(string)
	}
	return keys
}

// assertSumsHealed checks that every shard's sum in Redis is the sum of its
// sizes again (without calling Size first, which would recount it), and
// that Size reports it.
func assertSumsHealed(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	var total int64
	for i, sh := range s.shards {
		var want int64
		for _, v := range s.client.HVals(ctx, sh.keys[1]).Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			want += n
		}
		got, err := s.client.HGet(ctx, sh.keys[2], "bytes").Result()
		if err == redis.Nil {
			got = "0"
		}
		assert.Equal(t, strconv.FormatInt(want, 10), got, "the sum of shard %d in Redis is not the sum of its sizes", i)
		total += want
	}
	_, size, err := s.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, total, size, "Size is not the sum of the stored sizes")
}

// A damaged sum in Redis, set to what no store could reach, does not make
// the Cache evict everything on every store, nor stop it bounding the store:
// the Store recounts it. A damaged sum within the bound, which cannot be
// told from a real one, makes the Cache evict until a shard is empty, where
// its sum must be 0, and is recounted then. Either way, hits resume without
// a restart.
func damagedSums(t *testing.T, client redis.UniversalClient, shards int) {
	tests := []struct {
		name string
		sum  string // planted in every shard
		kept bool   // the entries stored before survive
	}{
		{"huge", strconv.FormatInt(1<<62, 10), true},
		{"the largest int64", "9223372036854775807", true},
		{"negative", "-5000000", true},
		{"not a number", "many", true},
		{"within the bound, evicting all once", strconv.Itoa(128 << 10), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			transport, _, store := newStoreTransport(t, client, shards, acache.WithMaxBytes(64<<10))
			o := newOrigin(t, 100, cacheable)
			before := []string{"/0", "/1", "/2", "/3"}
			after := []string{"/a", "/b", "/c"}
			// A store heals the sum of its own shard: the paths after the
			// damage reach every shard.
			base := baseForShards(t, store, o.URL, after, func(shards []*shard) bool {
				return distinct(shards) == min(len(after), len(store.shards))
			})
			for _, path := range before {
				fetch(t, transport, base+path)
			}
			for _, sh := range store.shards {
				require.NoError(t, client.HSet(ctx, sh.keys[2], "bytes", tt.sum).Err())
			}

			for _, path := range after {
				resp, body := fetch(t, transport, base+path)
				assert.False(t, hit(resp), "%s, new after the damage, was a hit", path)
				assert.Contains(t, body, path+" ", "%s got another body", path)
			}
			for _, path := range after {
				resp, _ := fetch(t, transport, base+path)
				assert.True(t, hit(resp), "%s, stored after the damage, was not served from the cache", path)
			}
			if tt.kept {
				for _, path := range before {
					resp, _ := fetch(t, transport, base+path)
					assert.True(t, hit(resp), "%s, stored before the damage, was evicted", path)
				}
			}
			assertSumsHealed(t, store)
		})
	}
}

func TestDamagedSumsHeal(t *testing.T) {
	damagedSums(t, newClient(t), 1)
}

func TestDamagedSumsHealCluster(t *testing.T) {
	damagedSums(t, newClusterClient(t), 3)
}

// Keys of another type than the Store writes, in place of a value or of a
// shard's bookkeeping, are removed: the request that meets them is served
// by the origin, and the URL is cached again. A store that one of them made
// fail is made again by the next request. Every path goes to one shard,
// which holds its share of the limits: 3 entries.
func wrongTypes(t *testing.T, client redis.UniversalClient, shards int) {
	tests := []struct {
		name   string
		path   string // fetched after the damage
		within int    // requests for path by which one is a hit
		plant  func(ctx context.Context, s *Store, oldest string) error
	}{
		{"a hash in place of a value", "/0", 2, func(ctx context.Context, s *Store, oldest string) error {
			return s.client.HSet(ctx, oldest, "status", "200").Err()
		}},
		{"a list in place of a value", "/0", 2, func(ctx context.Context, s *Store, oldest string) error {
			return s.client.RPush(ctx, oldest, "200", "OK").Err()
		}},
		{"a set in place of the oldest value, when making room", "/3", 3, func(ctx context.Context, s *Store, oldest string) error {
			return s.client.SAdd(ctx, oldest, "200").Err()
		}},
		{"a string in place of the LRU order", "/3", 4, func(ctx context.Context, s *Store, oldest string) error {
			return plantAll(ctx, s, oldest, 0, func(key string) error { return s.client.Set(ctx, key, "lru", 0).Err() })
		}},
		{"a list in place of the sums", "/3", 4, func(ctx context.Context, s *Store, oldest string) error {
			return plantAll(ctx, s, oldest, 2, func(key string) error { return s.client.RPush(ctx, key, "bytes").Err() })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			transport, cache, store := newStoreTransport(t, client, shards, acache.WithMaxEntries(3*shards))
			o := newOrigin(t, 100, cacheable)
			base := baseForShards(t, store, o.URL, []string{"/0", "/1", "/2", "/3"}, oneShard)
			fetch(t, transport, base+"/0")
			fetch(t, transport, base+"/1")
			fetch(t, transport, base+"/2")
			keys := valueKeys(t, store)
			require.Len(t, keys, 3, "values stored")
			// The oldest value makes way for the damage, or is gone as if
			// expired where the damage is elsewhere.
			require.NoError(t, client.Del(ctx, keys[0]).Err())
			require.NoError(t, tt.plant(ctx, store, keys[0]))
			errorsBefore := cache.Stats().Errors

			resp, last := fetch(t, transport, base+tt.path)
			assert.False(t, hit(resp), "the first request for %s after the damage was a hit", tt.path)
			assert.Contains(t, last, tt.path+" ", "the first request got another body")
			hitAt := 0
			for i := 2; i <= tt.within && hitAt == 0; i++ {
				resp, body := fetch(t, transport, base+tt.path)
				if hit(resp) {
					hitAt = i
					assert.Equal(t, last, body, "the hit served another body than the origin's last")
				}
				last = body
			}
			assert.NotZero(t, hitAt, "no hit within %d requests for %s after the damage", tt.within, tt.path)
			assert.Greater(t, cache.Stats().Errors, errorsBefore, "the damage was not counted as a failure")
			for _, key := range append(valueKeys(t, store), keys[0]) {
				kind, err := client.Type(ctx, key).Result()
				require.NoError(t, err)
				assert.Contains(t, []string{"string", "none"}, kind, "%s is still a %s", key, kind)
			}
		})
	}
}

// plantAll replaces bookkeeping key i (0 lru, 1 sizes, 2 meta) of the shard
// of s that holds the value oldest (the one shard a test's requests reach)
// by what plant writes. Every shard heals on its own, when a call reaches
// it.
func plantAll(ctx context.Context, s *Store, oldest string, i int, plant func(key string) error) error {
	for _, sh := range s.shards {
		if !strings.HasPrefix(oldest, sh.entryPrefix) {
			continue
		}
		if err := s.client.Del(ctx, sh.keys[i]).Err(); err != nil {
			return err
		}
		if err := plant(sh.keys[i]); err != nil {
			return err
		}
	}
	return nil
}

// baseForShards returns origin, or origin followed by a path segment, such
// that the shards of the GET requests of base+path for paths satisfy ok: a
// test of several shards makes its requests land where it needs them.
func baseForShards(t *testing.T, s *Store, origin string, paths []string, ok func([]*shard) bool) string {
	t.Helper()
	for i := range 10000 {
		base := origin
		if i > 0 {
			base = fmt.Sprintf("%s/%d", origin, i)
		}
		shards := make([]*shard, len(paths))
		for j, path := range paths {
			shards[j], _ = s.locate("GET " + base + path) // the Cache's key of a GET
		}
		if ok(shards) {
			return base
		}
	}
	t.Fatalf("no base under %s puts %q in the shards wanted", origin, paths)
	return ""
}

// oneShard reports whether shards are all one.
func oneShard(shards []*shard) bool { return distinct(shards) == 1 }

// distinct returns how many different shards shards holds.
func distinct(shards []*shard) int {
	seen := make(map[*shard]bool)
	for _, sh := range shards {
		seen[sh] = true
	}
	return len(seen)
}

func TestWrongTypesAreRemoved(t *testing.T) {
	wrongTypes(t, newClient(t), 1)
}

func TestWrongTypesAreRemovedCluster(t *testing.T) {
	wrongTypes(t, newClusterClient(t), 3)
}

// Stores in several processes that find a damaged sum at once each recount
// it while the others store and pop: none writes back a sum that another's
// change made stale, and the counts end exact.
func TestConcurrentRecounts(t *testing.T) {
	addr := redisAddr(t)
	var stores []*Store
	var prefix string
	for i := range 4 {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		if i == 0 {
			prefix = newPrefix(t, client)
		}
		s := New(client, WithPrefix(prefix))
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	ctx := t.Context()
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = fmt.Sprintf("GET http://example.com/%d", i)
		require.NoError(t, stores[0].Set(ctx, keys[i], testEntry(keys[i], 100*i)))
	}
	require.NoError(t, stores[0].client.HSet(ctx, stores[0].shards[0].keys[2], "bytes", 1<<62).Err())
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Go(func() {
			for i := range 60 {
				key := keys[(w*5+i*3)%len(keys)]
				var err error
				switch i % 3 {
				case 0:
					_, _, err = s.Size(ctx)
				case 1:
					err = s.Set(ctx, key, testEntry(key, (w*1000+i*37)%3000))
				case 2:
					_, err = s.Pop(ctx, key)
				}
				if err != nil {
					t.Errorf("store %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Each Store recounts at most once a second: a new one recounts a sum
	// that is still damaged, and leaves alone one that looks right.
	fresh := New(stores[0].client, WithPrefix(prefix))
	t.Cleanup(func() { fresh.Close() })
	bookkeeping(t, fresh, keys)
	assertSumsHealed(t, fresh)
}

// A recount is written back only if no script changed the sum since it read
// the sizes; and a Store recounts a shard at most once per recountInterval,
// counting it as empty meanwhile, however often it is asked.
func TestRecountIsBounded(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })
	sh := &s.shards[0]
	require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
	version := client.HGet(ctx, sh.keys[2], "version").Val()
	require.NoError(t, s.Set(ctx, "b", testEntry("b", 20)))
	want := client.HGet(ctx, sh.keys[2], "bytes").Val()
	wrote, err := writeBackScript.Run(ctx, client, sh.keys, version, 1).Int()
	require.NoError(t, err)
	assert.Zero(t, wrote, "a recount made before a Set was written back")
	assert.Equal(t, want, client.HGet(ctx, sh.keys[2], "bytes").Val(), "a stale recount changed the sum")

	require.NoError(t, client.HSet(ctx, sh.keys[2], "bytes", -1).Err())
	bookkeeping(t, s, []string{"a", "b"}) // Size recounts
	assertSumsHealed(t, s)
	require.NoError(t, client.HSet(ctx, sh.keys[2], "bytes", 1<<62).Err())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			n, size, err := s.Size(ctx)
			assert.NoError(t, err)
			assert.Equal(t, 2, n, "Size's count of entries")
			assert.Zero(t, size, "Size of a shard waiting for its next recount")
		})
	}
	wg.Wait()
	assert.Equal(t, strconv.Itoa(1<<62), client.HGet(ctx, sh.keys[2], "bytes").Val(),
		"the sum was recounted again within recountInterval")
}

// Set stores over a sum that Redis cannot add to (not an integer, or at the
// end of its range), and the sum is recounted by the next Size.
func TestSetOverDamagedSum(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	for _, sum := range []string{"many", "9223372036854775807", "-9223372036854775808"} {
		t.Run(sum, func(t *testing.T) {
			s := New(client, WithPrefix(newPrefix(t, client)))
			t.Cleanup(func() { s.Close() })
			require.NoError(t, s.Set(ctx, "a", testEntry("a", 10)))
			require.NoError(t, client.HSet(ctx, s.shards[0].keys[2], "bytes", sum).Err())
			require.NoError(t, s.Set(ctx, "b", testEntry("b", 20)), "Set over a damaged sum")
			_, err := s.Pop(ctx, "a")
			require.NoError(t, err, "Pop over a damaged sum")
			bookkeeping(t, s, []string{"a", "b"}) // Size recounts
			assertSumsHealed(t, s)
		})
	}
}
