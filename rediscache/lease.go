package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

// This file holds the methods of acache.Leaser, through which Caches in
// many processes collapse their requests for a key into one origin request:
// GetOrLease, RenewLease and ReleaseLease are one script each (scripts.go),
// and AwaitLease waits for the word that a lease was released, published on
// the shard's channel, while it polls the lease: the word is quick, the poll
// sure. Words reach a Store through one sharded subscription per shard,
// made the first time it waits on the shard, and kept until Close; its
// goroutine hands each word to the AwaitLease calls waiting for the member.

const (
	// leaseStored and leaseDropped are the words a release publishes, after
	// the member and a space: the response was stored, or will not be.
	leaseStored  = "stored"
	leaseDropped = "dropped"
	// subscribeTimeout bounds the making of a subscription: the SSUBSCRIBE
	// and the wait for Redis to confirm it.
	subscribeTimeout = 5 * time.Second
	// subscribeRetry is how long a subscription that failed stands before
	// an AwaitLease tries another: meanwhile the waiters of its shard poll
	// only, rather than each dial Redis again.
	subscribeRetry = time.Second
)

// errEmptyToken reports a lease asked for with no token: "" is no token,
// and a Commit with Lease "" releases nothing.
var errEmptyToken = errors.New("rediscache: get or lease: the token is empty")

// leaseMillis returns ttl as the scripts take it: in milliseconds, rounded
// up, at least one.
func leaseMillis(ttl time.Duration) string {
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond > 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}

// GetOrLease returns the entry stored under key, as Get does, unless its
// version is stale (0 for none), or, when there is none or only that one,
// takes key's lease for ttl under token unless another token holds it
// ([acache.Leaser]): one script, so that no other process stores or leases
// key in between, and which sends no value back when it is the stale one.
// leased is also true when token held the lease already. ttl is rounded up
// to a whole millisecond; token must not be empty. A value that holds
// another key's entry is a miss, for which a second script takes the
// lease.
func (s *Store) GetOrLease(ctx context.Context, key string, stale uint64, token string, ttl time.Duration) (e *acache.Entry, leased bool, err error) {
	if s.client == nil {
		return nil, false, errNoClient
	}
	if token == "" {
		return nil, false, errEmptyToken
	}
	sh, member := s.locate(key)
	keys := []string{sh.entryPrefix + member, sh.leasePrefix + member, sh.all[3]}
	ms, version := leaseMillis(ttl), strconv.FormatUint(stale, 10)
	res, err := getOrLeaseScript.Run(ctx, s.client, keys, token, ms, "", version, member).Result()
	if err == nil {
		data, ok := res.(string)
		if !ok {
			return nil, res == int64(1), nil
		}
		if e, err = decode([]byte(data)); err != nil {
			return nil, false, fmt.Errorf("rediscache: get or lease: %w", err)
		}
		if e.Key == key {
			return e, false, nil
		}
		res, err = getOrLeaseScript.Run(ctx, s.client, keys, token, ms, "take", version, member).Result()
		if err == nil {
			return nil, res == int64(1), nil
		}
	}
	if wrongType(err) {
		err = errWrongType
	}
	return nil, false, fmt.Errorf("rediscache: get or lease: %w", err)
}

// RenewLease starts the lease token holds on key again, for ttl from now
// (rounded up to a whole millisecond), and reports whether token holds it:
// one script.
func (s *Store) RenewLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if s.client == nil {
		return false, errNoClient
	}
	if token == "" {
		return false, nil
	}
	sh, member := s.locate(key)
	n, err := renewLeaseScript.Run(ctx, s.client, []string{sh.leasePrefix + member}, token, leaseMillis(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("rediscache: renew lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseLease releases the lease token holds on key and publishes that the
// response will not be stored, so that the waiters go to the origin at
// once: one script. It does nothing when token does not hold the lease.
func (s *Store) ReleaseLease(ctx context.Context, key, token string) error {
	if s.client == nil {
		return errNoClient
	}
	if token == "" {
		return nil
	}
	sh, member := s.locate(key)
	keys := []string{sh.leasePrefix + member, sh.channel}
	if err := releaseLeaseScript.Run(ctx, s.client, keys, token, member+" "+leaseDropped).Err(); err != nil {
		return fmt.Errorf("rediscache: release lease: %w", err)
	}
	return nil
}

// AwaitLease returns once key's lease is released or ended, or ctx is done
// ([acache.Leaser]). lookAgain is false when its holder released it saying
// the response will not be stored, true when the holder stored it, or when
// the lease was found gone without a word (it ended, or the word was lost):
// the word is published on the shard's channel, and the lease polled
// besides, every [WithLeasePoll] interval, since a word may be lost (go-redis
// drops words across a reconnection). When ctx is done first, it returns
// ctx's cause.
//
// The first AwaitLease on a shard subscribes this Store to the shard's
// channel (a connection of its own, to the shard's node in a Cluster), and
// waits for Redis to confirm it before it looks at the lease, so that no
// release between the two goes unheard; it waits no longer than one poll
// interval, polling meanwhile. After Close, AwaitLease polls only.
func (s *Store) AwaitLease(ctx context.Context, key string) (lookAgain bool, err error) {
	if s.client == nil {
		return false, errNoClient
	}
	if ctx.Err() != nil {
		return false, context.Cause(ctx)
	}
	sh, member := s.locate(key)
	w := s.leases.register(member)
	defer s.leases.unregister(member, w)
	poll := time.NewTicker(s.leasePoll)
	defer poll.Stop()
	if sub := s.subscription(sh); sub != nil {
		select {
		case <-sub.ready: // confirmed, or failed: the polls alone then
		case <-poll.C:
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
	}
	lease := sh.leasePrefix + member
	for {
		n, err := s.client.Exists(ctx, lease).Result()
		if err != nil {
			if ctx.Err() != nil {
				return false, context.Cause(ctx)
			}
			return false, fmt.Errorf("rediscache: await lease: %w", err)
		}
		if n == 0 {
			select {
			case <-w.done: // the word came too: it says more
				return w.stored, nil
			default:
				return true, nil
			}
		}
		select {
		case <-w.done:
			return w.stored, nil
		case <-poll.C:
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
	}
}

// leaseWaits are a Store's AwaitLease calls under way, by member, and its
// subscriptions to the shards' channels, which wake them. The zero value
// is ready to use.
type leaseWaits struct {
	// mu guards the fields below it, and the fields of the leaseWaits and
	// subscriptions they hold that say so.
	mu     sync.Mutex
	waits  map[string]*leaseWait    // by member
	subs   map[*shard]*subscription // by shard, made lazily
	closed bool                     // by Close: no more subscriptions
	ctx    context.Context          // ends the making of subscriptions at Close
	cancel context.CancelFunc       // ends ctx

	// running counts the subscriptions' goroutines, for Close to wait for.
	running sync.WaitGroup
}

// leaseWait is what the AwaitLease calls of one member in one Store share:
// a subscription's goroutine closes done when the word for the member
// comes, having set stored.
type leaseWait struct {
	waiters int // AwaitLease calls holding it, under leaseWaits.mu
	done    chan struct{}
	stored  bool // the word, set under leaseWaits.mu before done is closed
}

// subscription is a Store's subscription to one shard's channel.
type subscription struct {
	ready    chan struct{} // closed once Redis confirmed it, or it failed
	pubsub   *redis.PubSub // while it is open, under leaseWaits.mu
	failedAt time.Time     // when it failed, under leaseWaits.mu
}

// register counts a waiter of member and returns what it waits on.
func (l *leaseWaits) register(member string) *leaseWait {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.waits[member]
	if w == nil {
		if l.waits == nil {
			l.waits = make(map[string]*leaseWait)
		}
		w = &leaseWait{done: make(chan struct{})}
		l.waits[member] = w
	}
	w.waiters++
	return w
}

// unregister forgets a waiter of member, and the member once it has none:
// a Store holds only the waits under way.
func (l *leaseWaits) unregister(member string, w *leaseWait) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.waiters--
	if w.waiters == 0 && l.waits[member] == w {
		delete(l.waits, member)
	}
}

// word hands the word of a release of member's lease to the waiters of
// member, if any. The next waiters of member wait on a new leaseWait.
func (l *leaseWaits) word(member string, stored bool) {
	l.mu.Lock()
	w := l.waits[member]
	if w != nil {
		delete(l.waits, member)
		w.stored = stored
	}
	l.mu.Unlock()
	if w != nil {
		close(w.done)
	}
}

// subscription returns the Store's subscription to sh's channel, making it
// when there is none (or the last failed more than subscribeRetry ago), or
// nil after Close.
func (s *Store) subscription(sh *shard) *subscription {
	l := &s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	sub := l.subs[sh]
	if sub != nil && (sub.failedAt.IsZero() || time.Since(sub.failedAt) < subscribeRetry) {
		return sub
	}
	if l.subs == nil {
		l.subs = make(map[*shard]*subscription)
		l.ctx, l.cancel = context.WithCancel(context.Background())
	}
	sub = &subscription{ready: make(chan struct{})}
	l.subs[sh] = sub
	l.running.Add(1)
	go s.subscribe(l.ctx, sh, sub)
	return sub
}

// subscribe is the goroutine of sub: it subscribes to sh's channel, waits
// for Redis to confirm it, then hands each word that comes to the waiters
// of its member, until Close (or until Redis ends the subscription, when
// the shard's slot moves to another node in a Cluster: the next AwaitLease
// subscribes again, where the slot now is).
func (s *Store) subscribe(ctx context.Context, sh *shard, sub *subscription) {
	l := &s.leases
	defer l.running.Done()
	subCtx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	pubsub := s.client.SSubscribe(subCtx, sh.channel)
	l.mu.Lock()
	closed := l.closed
	if !closed {
		sub.pubsub = pubsub // for Close to close
	}
	l.mu.Unlock()
	ok := !closed && confirm(subCtx, pubsub)
	cancel()
	if !ok {
		pubsub.Close()
		l.mu.Lock()
		sub.pubsub, sub.failedAt = nil, time.Now()
		l.mu.Unlock()
		close(sub.ready)
		return
	}
	close(sub.ready)
	// The channel closes once pubsub is closed (by Close, or below).
	for m := range pubsub.ChannelWithSubscriptions() {
		switch m := m.(type) {
		case *redis.Message:
			member, word, _ := strings.Cut(m.Payload, " ")
			switch word {
			case leaseStored:
				l.word(member, true)
			case leaseDropped:
				l.word(member, false)
			}
		case *redis.Subscription:
			if m.Kind == "sunsubscribe" {
				l.drop(sh, sub)
			}
		}
	}
}

// confirm reports whether Redis confirmed the subscription of pubsub, the
// first thing it sends. The waiters poll when it did not, whatever the
// reason (Redis is down, or older than 7 and has no sharded pub/sub): the
// poll tells them.
func confirm(ctx context.Context, pubsub *redis.PubSub) bool {
	reply, err := pubsub.Receive(ctx)
	m, ok := reply.(*redis.Subscription)
	return err == nil && ok && m.Kind == "ssubscribe"
}

// drop closes sub, which Redis ended, and forgets it, for the next
// AwaitLease on sh to subscribe again.
func (l *leaseWaits) drop(sh *shard, sub *subscription) {
	l.mu.Lock()
	if l.subs[sh] == sub {
		delete(l.subs, sh)
	}
	pubsub := sub.pubsub
	sub.pubsub = nil
	l.mu.Unlock()
	if pubsub != nil {
		pubsub.Close()
	}
}

// close closes the subscriptions and waits for their goroutines to end.
// The waits under way poll from then on.
func (l *leaseWaits) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	var open []*redis.PubSub
	for _, sub := range l.subs {
		if sub.pubsub != nil {
			open = append(open, sub.pubsub)
			sub.pubsub = nil
		}
	}
	l.subs = nil
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, pubsub := range open {
		pubsub.Close()
	}
	l.running.Wait()
}
