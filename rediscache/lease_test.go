package rediscache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leaseTTL is the lease time to live of these tests: short, so that a
// lease that ends by itself does so within the test.
const leaseTTL = 200 * time.Millisecond

// eachLeaseTopology runs f on one node with one shard and on the Cluster
// with three, with a function that makes Stores on one new prefix, each
// through a client of its own, as processes would have.
func eachLeaseTopology(t *testing.T, f func(t *testing.T, newStore func(opts ...Option) *Store)) {
	run := func(t *testing.T, newClient func(testing.TB) redis.UniversalClient, shards int) {
		prefix := newPrefix(t, newClient(t))
		f(t, func(opts ...Option) *Store {
			client := newClient(t)
			looks := &existsLog{}
			client.AddHook(looks)
			s := New(client, append([]Option{WithPrefix(prefix), WithShards(shards)}, opts...)...)
			existsLogs.Store(s, looks)
			t.Cleanup(func() {
				s.Close()
				existsLogs.Delete(s)
			})
			return s
		})
	}
	t.Run("node", func(t *testing.T) {
		run(t, func(tb testing.TB) redis.UniversalClient { return newClient(tb) }, 1)
	})
	t.Run("cluster", func(t *testing.T) {
		run(t, func(tb testing.TB) redis.UniversalClient { return newClusterClient(tb) }, 3)
	})
}

// commitLeased stores an entry of n bytes under key through s, releasing
// the lease token holds; maxBytes bounds the store.
func commitLeased(t *testing.T, s *Store, key, token string, n int, maxBytes int64) acache.CommitResult {
	t.Helper()
	e := testEntry(key, n)
	e.Version = 1
	res, err := s.Commit(t.Context(), &acache.Commit{
		Key: key, Entry: e, MaxEntries: 100, MaxBytes: maxBytes, MaxListed: 10, Lease: token,
	})
	require.NoError(t, err)
	return res
}

// awaited is what an AwaitLease returned.
type awaited struct {
	again bool
	err   error
	took  time.Duration
}

// await runs s.AwaitLease(ctx, key) in a goroutine of its own.
func await(ctx context.Context, s *Store, key string) <-chan awaited {
	c := make(chan awaited, 1)
	go func() {
		start := time.Now()
		again, err := s.AwaitLease(ctx, key)
		c <- awaited{again, err, time.Since(start)}
	}()
	return c
}

// waitFor returns what c delivers, failing if it delivers nothing within d.
func waitFor(t *testing.T, c <-chan awaited, d time.Duration, what string) awaited {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(d):
		t.Fatalf("%s: AwaitLease did not return within %v", what, d)
		return awaited{}
	}
}

// existsLogs holds the existsLog of each Store that eachLeaseTopology
// made.
var existsLogs sync.Map // *Store -> *existsLog

// existsLog is a go-redis hook that counts the EXISTS commands a client
// had answered, by key: how a test knows that AwaitLease looked at the
// lease.
type existsLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *existsLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *existsLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if args := cmd.Args(); cmd.Name() == "exists" && len(args) == 2 {
			l.mu.Lock()
			if l.n == nil {
				l.n = make(map[string]int)
			}
			l.n[fmt.Sprint(args[1])]++
			l.mu.Unlock()
		}
		return err
	}
}

func (l *existsLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// looked returns how many times key was looked at with EXISTS.
func (l *existsLog) looked(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[key]
}

// waiting returns once s, made by eachLeaseTopology, has a waiter of key
// that was subscribed and then looked at the lease: a release from then on
// reaches it by word.
func waiting(t *testing.T, s *Store, key string) {
	t.Helper()
	v, _ := existsLogs.Load(s)
	looks := v.(*existsLog)
	sh, member := s.locate(key)
	require.Eventually(t, func() bool {
		l := &s.leases
		l.mu.Lock()
		defer l.mu.Unlock()
		sub := l.subs[sh]
		if l.waits[member] == nil || sub == nil {
			return false
		}
		select {
		case <-sub.ready:
			return sub.failedAt.IsZero() && looks.looked(sh.leasePrefix+member) > 0
		default:
			return false
		}
	}, 5*time.Second, time.Millisecond, "no subscribed waiter of %q", key)
}

func TestGetOrLease(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		s := newStore()

		commitLeased(t, s, "stored", "", 10, 1<<20)
		e, leased, err := s.GetOrLease(ctx, "stored", 0, "a", leaseTTL)
		require.NoError(t, err)
		require.NotNil(t, e, "a stored entry: GetOrLease returned no entry")
		assert.Equal(t, "stored", e.Key)
		assert.False(t, leased, "a stored entry: GetOrLease took the lease")
		_, leased, err = s.GetOrLease(ctx, "stored", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.False(t, leased, "a stored entry: GetOrLease took the lease the second time")

		e, leased, err = s.GetOrLease(ctx, "missing", 0, "a", leaseTTL)
		require.NoError(t, err)
		assert.Nil(t, e)
		assert.True(t, leased, "a miss: the lease was not taken")
		e, leased, err = s.GetOrLease(ctx, "missing", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.Nil(t, e)
		assert.False(t, leased, "another token took a lease that a holds")
		_, leased, err = s.GetOrLease(ctx, "missing", 0, "a", leaseTTL)
		require.NoError(t, err)
		assert.True(t, leased, "the holder asked again: the lease is not reported held")

		time.Sleep(leaseTTL + 100*time.Millisecond)
		_, leased, err = s.GetOrLease(ctx, "missing", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.True(t, leased, "the lease of a did not end after its TTL: b could not take it")
		_, leased, err = s.GetOrLease(ctx, "missing", 0, "a", leaseTTL)
		require.NoError(t, err)
		assert.False(t, leased, "a took the lease back from b")

		_, _, err = s.GetOrLease(ctx, "missing", 0, "", leaseTTL)
		assert.Error(t, err, "a lease taken with no token")
	})
}

// A revalidation takes the lease too: GetOrLease given the version of the
// entry the caller found stale takes the lease rather than send that entry
// back, and sends back the entry that replaced it, once stored.
func TestGetOrLeaseStale(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		s := newStore()

		commitLeased(t, s, "stale", "", 10, 1<<20) // version 1
		e, leased, err := s.GetOrLease(ctx, "stale", 1, "a", leaseTTL)
		require.NoError(t, err)
		assert.Nil(t, e, "the stale entry was sent back to the Cache that holds it")
		assert.True(t, leased, "a revalidation of the stored version did not take the lease")
		e, leased, err = s.GetOrLease(ctx, "stale", 1, "b", leaseTTL)
		require.NoError(t, err)
		assert.Nil(t, e)
		assert.False(t, leased, "a second revalidation took the lease a holds")

		e, leased, err = s.GetOrLease(ctx, "stale", 7, "b", leaseTTL)
		require.NoError(t, err)
		require.NotNil(t, e, "the entry stored since version 7 was read was not sent back")
		assert.Equal(t, uint64(1), e.Version)
		assert.False(t, leased)

		fresh := testEntry("stale", 10)
		fresh.Version = 2
		res, err := s.Commit(ctx, &acache.Commit{Key: "stale", Entry: fresh, IfVersion: 1, MaxEntries: 100, MaxBytes: 1 << 20, MaxListed: 10, Lease: "a"})
		require.NoError(t, err)
		require.True(t, res.Stored, "the revalidated entry was not stored: %+v", res)
		e, leased, err = s.GetOrLease(ctx, "stale", 1, "c", leaseTTL)
		require.NoError(t, err)
		require.NotNil(t, e, "the revalidated entry was not sent back to a Cache that read version 1")
		assert.Equal(t, uint64(2), e.Version)
		assert.False(t, leased, "the Commit did not release the lease, or a took it again")
	})
}

// A value that holds another key's entry is a miss, for GetOrLease as for
// Get; a key of another type in place of a value is an error wrapping
// acache.ErrCorruptEntry, as from Get; a lease of another type is deleted
// and the lease taken.
func TestGetOrLeaseDamage(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	s := New(client, WithPrefix(newPrefix(t, client)))
	t.Cleanup(func() { s.Close() })

	commitLeased(t, s, "original", "", 10, 1<<20)
	sh, original := s.locate("original")
	_, copied := s.locate("copied")
	data, err := client.Get(ctx, sh.entryPrefix+original).Result()
	require.NoError(t, err)
	require.NoError(t, client.Set(ctx, sh.entryPrefix+copied, data, 0).Err())
	e, leased, err := s.GetOrLease(ctx, "copied", 0, "a", leaseTTL)
	require.NoError(t, err)
	assert.Nil(t, e, "an entry of another key was returned")
	assert.True(t, leased, "a value holding another key's entry: the lease was not taken")

	_, hashed := s.locate("hashed")
	require.NoError(t, client.HSet(ctx, sh.entryPrefix+hashed, "f", "v").Err())
	_, leased, err = s.GetOrLease(ctx, "hashed", 0, "a", leaseTTL)
	assert.ErrorIs(t, err, acache.ErrCorruptEntry, "a hash in place of the value")
	assert.False(t, leased)

	_, damaged := s.locate("damaged")
	require.NoError(t, client.HSet(ctx, sh.leasePrefix+damaged, "f", "v").Err())
	_, leased, err = s.GetOrLease(ctx, "damaged", 0, "a", leaseTTL)
	require.NoError(t, err)
	assert.True(t, leased, "a hash in place of the lease: the lease was not taken")
	renewed, err := s.RenewLease(ctx, "damaged", "a", leaseTTL)
	require.NoError(t, err)
	assert.True(t, renewed)
}

func TestRenewAndReleaseLease(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		s := newStore()
		_, leased, err := s.GetOrLease(ctx, "k", 0, "a", leaseTTL)
		require.NoError(t, err)
		require.True(t, leased)

		renewed, err := s.RenewLease(ctx, "k", "b", 10*time.Second)
		require.NoError(t, err)
		assert.False(t, renewed, "b renewed the lease a holds")
		renewed, err = s.RenewLease(ctx, "k", "a", 10*time.Second)
		require.NoError(t, err)
		assert.True(t, renewed, "the holder could not renew its lease")
		time.Sleep(leaseTTL + 100*time.Millisecond)
		_, leased, err = s.GetOrLease(ctx, "k", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.False(t, leased, "the renewed lease ended after its first TTL")

		require.NoError(t, s.ReleaseLease(ctx, "k", "b"))
		_, leased, err = s.GetOrLease(ctx, "k", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.False(t, leased, "b released the lease a holds")

		require.NoError(t, s.ReleaseLease(ctx, "k", "a"))
		renewed, err = s.RenewLease(ctx, "k", "a", leaseTTL)
		require.NoError(t, err)
		assert.False(t, renewed, "a renewed a lease it released")
		_, leased, err = s.GetOrLease(ctx, "k", 0, "b", leaseTTL)
		require.NoError(t, err)
		assert.True(t, leased, "the holder released its lease, and b could not take it")

		renewed, err = s.RenewLease(ctx, "never", "a", leaseTTL)
		require.NoError(t, err)
		assert.False(t, renewed, "a lease nobody took was renewed")
	})
}

// A waiter in another Store (another process) hears the word of a release:
// with its poll an hour long, only the word can wake it.
func TestAwaitLeaseWord(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		holder, waiter := newStore(), newStore(WithLeasePoll(time.Hour))

		t.Run("stored", func(t *testing.T) {
			_, leased, err := holder.GetOrLease(ctx, "stored", 0, "a", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			c := await(ctx, waiter, "stored")
			waiting(t, waiter, "stored")
			res := commitLeased(t, holder, "stored", "a", 10, 1<<20)
			require.True(t, res.Stored)
			a := waitFor(t, c, 5*time.Second, "a Commit with the lease")
			require.NoError(t, a.err)
			assert.True(t, a.again, "a Commit stored the response: the waiter must look again")
			e, err := waiter.Get(ctx, "stored")
			require.NoError(t, err)
			assert.NotNil(t, e, "the waiter looks again and finds nothing")
			_, leased, err = waiter.GetOrLease(ctx, "stored", 0, "b", leaseTTL)
			require.NoError(t, err)
			assert.False(t, leased, "the entry is stored: GetOrLease leased instead of returning it")
			exists, err := holder.client.Exists(ctx, leaseKey(holder, "stored")).Result()
			require.NoError(t, err)
			assert.Zero(t, exists, "the Commit left its lease held")
		})

		t.Run("dropped", func(t *testing.T) {
			_, leased, err := holder.GetOrLease(ctx, "dropped", 0, "a", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			c := await(ctx, waiter, "dropped")
			waiting(t, waiter, "dropped")
			require.NoError(t, holder.ReleaseLease(ctx, "dropped", "a"))
			a := waitFor(t, c, 5*time.Second, "ReleaseLease")
			require.NoError(t, a.err)
			assert.False(t, a.again, "the holder said it will not store: the waiter must go to the origin")
		})

		t.Run("many", func(t *testing.T) {
			_, leased, err := holder.GetOrLease(ctx, "many", 0, "a", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			var cs []<-chan awaited
			for range 8 {
				cs = append(cs, await(ctx, waiter, "many"))
			}
			other := await(ctx, waiter, "another key")
			waiting(t, waiter, "many")
			commitLeased(t, holder, "many", "a", 10, 1<<20)
			for i, c := range cs {
				a := waitFor(t, c, 5*time.Second, fmt.Sprint("waiter ", i))
				require.NoError(t, a.err)
				assert.True(t, a.again, "waiter %d", i)
			}
			a := waitFor(t, other, time.Second, "a key with no lease")
			assert.True(t, a.again, "a key with no lease")
			assert.Less(t, a.took, time.Second, "a key with no lease: AwaitLease did not return at once")
			waiter.leases.mu.Lock()
			defer waiter.leases.mu.Unlock()
			assert.Empty(t, waiter.leases.waits, "the waits that returned are still registered")
		})
	})
}

// leaseKey returns the Redis key of key's lease in s.
func leaseKey(s *Store, key string) string {
	sh, member := s.locate(key)
	return sh.leasePrefix + member
}

func TestAwaitLeaseWithoutWord(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		holder := newStore()

		t.Run("no lease", func(t *testing.T) {
			waiter := newStore(WithLeasePoll(time.Hour))
			a := waitFor(t, await(ctx, waiter, "free"), 5*time.Second, "a key with no lease")
			require.NoError(t, a.err)
			assert.True(t, a.again, "a key with no lease")
		})

		t.Run("expired", func(t *testing.T) {
			waiter := newStore(WithLeasePoll(10 * time.Millisecond))
			_, leased, err := holder.GetOrLease(ctx, "expired", 0, "a", leaseTTL)
			require.NoError(t, err)
			require.True(t, leased)
			a := waitFor(t, await(ctx, waiter, "expired"), 5*time.Second, "a lease that ends by itself")
			require.NoError(t, a.err)
			assert.True(t, a.again, "the lease ended without a word: the waiter must look again")
			assert.Greater(t, a.took, leaseTTL/2, "AwaitLease returned long before the lease ended")
		})

		t.Run("context", func(t *testing.T) {
			waiter := newStore(WithLeasePoll(10 * time.Millisecond))
			_, leased, err := holder.GetOrLease(ctx, "held", 0, "a", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			cause := errors.New("the collapse wait passed")
			waitCtx, cancel := context.WithTimeoutCause(ctx, 100*time.Millisecond, cause)
			defer cancel()
			a := waitFor(t, await(waitCtx, waiter, "held"), 5*time.Second, "a context that ends")
			assert.ErrorIs(t, a.err, cause, "AwaitLease must return the context's cause")
			assert.False(t, a.again)
			require.NoError(t, holder.ReleaseLease(ctx, "held", "a"))
		})

		t.Run("not stored", func(t *testing.T) {
			waiter := newStore(WithLeasePoll(10 * time.Millisecond))
			_, leased, err := holder.GetOrLease(ctx, "large", 0, "a", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			c := await(ctx, waiter, "large")
			waiting(t, waiter, "large")
			res := commitLeased(t, holder, "large", "a", 1000, 100)
			require.False(t, res.Stored, "an entry larger than MaxBytes was stored")
			select {
			case a := <-c:
				t.Fatalf("a Commit that stored nothing woke a waiter: %+v", a)
			case <-time.After(200 * time.Millisecond):
			}
			_, leased, err = holder.GetOrLease(ctx, "large", 0, "b", leaseTTL)
			require.NoError(t, err)
			assert.False(t, leased, "a Commit that stored nothing released the lease")
			require.NoError(t, holder.ReleaseLease(ctx, "large", "a"))
			a := waitFor(t, c, 5*time.Second, "ReleaseLease after a Commit that stored nothing")
			assert.False(t, a.again)
		})

		t.Run("another's lease", func(t *testing.T) {
			// a's lease ended and b took the key's: a's Commit stores, and
			// leaves b's lease held.
			_, leased, err := holder.GetOrLease(ctx, "taken", 0, "b", 10*time.Second)
			require.NoError(t, err)
			require.True(t, leased)
			res := commitLeased(t, holder, "taken", "a", 10, 1<<20)
			require.True(t, res.Stored)
			renewed, err := holder.RenewLease(ctx, "taken", "b", 10*time.Second)
			require.NoError(t, err)
			assert.True(t, renewed, "a Commit with a's token released b's lease")
		})
	})
}

// Close ends the subscriptions and their goroutines (TestMain checks that
// none is left); a Store closed, or closing while waiters wait, polls.
func TestAwaitLeaseClose(t *testing.T) {
	eachLeaseTopology(t, func(t *testing.T, newStore func(...Option) *Store) {
		ctx := t.Context()
		holder := newStore()
		waiter := newStore(WithLeasePoll(10 * time.Millisecond))
		_, leased, err := holder.GetOrLease(ctx, "k", 0, "a", 10*time.Second)
		require.NoError(t, err)
		require.True(t, leased)
		c := await(ctx, waiter, "k")
		waiting(t, waiter, "k")
		require.NoError(t, waiter.Close())
		waiter.leases.mu.Lock()
		subs := len(waiter.leases.subs)
		waiter.leases.mu.Unlock()
		assert.Zero(t, subs, "Close left subscriptions")
		require.NoError(t, holder.ReleaseLease(ctx, "k", "a"))
		a := waitFor(t, c, 5*time.Second, "a waiter whose Store closed")
		require.NoError(t, a.err)
		assert.True(t, a.again, "a closed Store polls: it finds the lease gone, with no word")

		_, leased, err = holder.GetOrLease(ctx, "later", 0, "a", leaseTTL)
		require.NoError(t, err)
		require.True(t, leased)
		a = waitFor(t, await(ctx, waiter, "later"), 5*time.Second, "a waiter after Close")
		require.NoError(t, a.err)
		assert.True(t, a.again, "after Close: the lease ended, and the poll must see it")
		assert.Nil(t, waiter.subscription(&waiter.shards[0]), "a closed Store subscribed")
	})
}

// Concurrent waits, words and Close race cleanly (run with -race).
func TestAwaitLeaseRace(t *testing.T) {
	client := newClient(t)
	ctx := t.Context()
	prefix := newPrefix(t, client)
	holder := New(client, WithPrefix(prefix))
	t.Cleanup(func() { holder.Close() })
	waiter := New(newClient(t), WithPrefix(prefix), WithLeasePoll(5*time.Millisecond))
	var wg sync.WaitGroup
	for i := range 16 {
		key := fmt.Sprint("k", i%4)
		wg.Go(func() {
			token := fmt.Sprint("t", i)
			_, leased, err := holder.GetOrLease(ctx, key, 0, token, leaseTTL)
			assert.NoError(t, err)
			if leased {
				time.Sleep(time.Duration(i) * time.Millisecond)
				if i%2 == 0 {
					e := testEntry(key, 10)
					_, err := holder.Commit(ctx, &acache.Commit{Key: key, Entry: e, MaxEntries: 100, MaxBytes: 1 << 20, MaxListed: 10, Lease: token})
					assert.NoError(t, err)
				} else {
					assert.NoError(t, holder.ReleaseLease(ctx, key, token))
				}
				return
			}
			waitCtx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err = waiter.AwaitLease(waitCtx, key)
			assert.NoError(t, err)
		})
	}
	time.Sleep(5 * time.Millisecond)
	waiter.Close()
	wg.Wait()
}

// A Store without a client fails every lease call as it fails the others.
func TestLeaseNilClient(t *testing.T) {
	ctx := t.Context()
	s := New(nil)
	_, _, err := s.GetOrLease(ctx, "k", 0, "a", leaseTTL)
	assert.ErrorIs(t, err, acache.ErrNilBackend, "GetOrLease")
	_, err = s.RenewLease(ctx, "k", "a", leaseTTL)
	assert.ErrorIs(t, err, acache.ErrNilBackend, "RenewLease")
	assert.ErrorIs(t, s.ReleaseLease(ctx, "k", "a"), acache.ErrNilBackend, "ReleaseLease")
	_, err = s.AwaitLease(ctx, "k")
	assert.ErrorIs(t, err, acache.ErrNilBackend, "AwaitLease")
	assert.NoError(t, s.Close())
}

func TestLeaseMillis(t *testing.T) {
	for _, c := range []struct {
		ttl  time.Duration
		want string
	}{
		{0, "1"}, {-time.Second, "1"}, {time.Microsecond, "1"}, {time.Millisecond, "1"},
		{1500 * time.Microsecond, "2"}, {3 * time.Second, "3000"},
	} {
		assert.Equal(t, c.want, leaseMillis(c.ttl), "leaseMillis(%v)", c.ttl)
	}
}
