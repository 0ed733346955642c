package rediscache

import "time"

// Defaults of a [Store]; see [WithPrefix], [WithIdleTTL] and
// [WithLeasePoll].
const (
	DefaultPrefix    = "acache"
	DefaultIdleTTL   = 24 * time.Hour
	DefaultLeasePoll = 50 * time.Millisecond
)

// maxShards bounds [WithShards]: each shard costs a command in Len, Size and
// PopOldest.
const maxShards = 256

// Option configures a [Store] created by [New]. The zero Option does nothing.
type Option struct {
	apply func(*Store)
}

// WithPrefix sets the prefix of every Redis key the Store uses; the default
// is [DefaultPrefix]. Stores on one prefix share their entries and one LRU
// order, whatever process they run in, and must be configured with the same
// number of shards ([WithShards]). An empty p means the default.
func WithPrefix(p string) Option {
	return Option{func(s *Store) {
		if p != "" {
			s.prefix = p
		}
	}}
}

// WithIdleTTL sets the Redis TTL of each entry: how long an entry nobody
// stores or uses again stays in Redis; every Set and MoveToEnd starts it
// again. The default is [DefaultIdleTTL]. Redis counts it in milliseconds:
// a d below one millisecond is rounded up to one, and d <= 0 means the
// default.
func WithIdleTTL(d time.Duration) Option {
	return Option{func(s *Store) {
		if d > 0 {
			s.idleTTL = max(d, time.Millisecond)
		}
	}}
}

// WithShards splits the LRU into n independent LRUs, each under a hash tag of
// its own, so that a Redis Cluster spreads the entries over its nodes. A
// key's shard is chosen by its URI key, so that every key of a URI and the
// URI's index share one; each shard is bounded by 1/n of the limits of a
// Commit (MaxEntries/n entries, at least 1, and MaxBytes/n bytes), so that
// they hold over the whole Store. See the package documentation for the
// trade-off. The default is 1: one LRU, on one node. n <= 0 means 1, and n
// is at most 256.
func WithShards(n int) Option {
	return Option{func(s *Store) {
		if n > 0 {
			s.nshards = min(n, maxShards)
		}
	}}
}

// WithLeasePoll sets how often [Store.AwaitLease] looks whether the lease
// it waits for still exists (one EXISTS), besides listening for the word of
// its release: the poll catches a lease that ended by itself (its holder
// died) and a word that was lost (a reconnection, a full buffer). It bounds
// how long a waiter outlives a lease that nobody released. The default is
// [DefaultLeasePoll]; d <= 0 means the default.
func WithLeasePoll(d time.Duration) Option {
	return Option{func(s *Store) {
		if d > 0 {
			s.leasePoll = d
		}
	}}
}
