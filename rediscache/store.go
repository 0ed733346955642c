package rediscache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

var (
	_ acache.Backend   = (*Store)(nil)
	_ acache.Sizer     = (*Store)(nil)
	_ acache.Committer = (*Store)(nil)
	_ acache.Leaser    = (*Store)(nil)

	_ acache.DeadlineKeeper = (*Store)(nil)
)

// errNoClient is what every method of a Store made from a nil client
// returns: the Cache then bypasses itself, and says so once.
var errNoClient = fmt.Errorf("rediscache: Store has no Redis client: %w", acache.ErrNilBackend)

// metaSlack is how much longer than the idle TTL the bookkeeping keys of a
// shard live after the last write: they outlive every entry they count.
const metaSlack = time.Minute

// Store is an [acache.Backend], [acache.Sizer], [acache.Committer] and
// [acache.Leaser] that keeps entries in Redis, in one LRU order shared by
// every Store on the same prefix, in any process: Caches over them behave as
// one cache, and collapse their requests for a key into one.
// It is safe for concurrent use by multiple goroutines. Create one with
// [New]; the zero value has no client, and its methods return an error.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	idleTTL time.Duration
	nshards int
	shards  []shard

	// idleMillis and metaMillis are the TTLs as the scripts take them.
	idleMillis, metaMillis string

	touches touches // MoveToEnd calls not yet sent

	leasePoll time.Duration // how often AwaitLease looks at a lease
	leases    leaseWaits    // AwaitLease calls under way, and their subscriptions
}

// shard names the Redis keys of one LRU, all under one hash tag so that a
// script may touch them together in a Redis Cluster.
type shard struct {
	keys        []string      // lru, sizes, meta: the counts, which Len and Size read
	all         []string      // keys, then versions, listed, listedin: the scripts' first KEYS
	entryPrefix string        // followed by a member, the key of an entry's value
	indexPrefix string        // followed by a URI key's member, the key of its index
	leasePrefix string        // followed by a member, the key of its lease (lease.go)
	channel     string        // where the releases of the shard's leases are published
	recounted   *atomic.Int64 // when this Store last recounted the sum (heal.go), in Unix nanoseconds
}

// newShard returns the keys of shard i of prefix.
func newShard(prefix string, i int) shard {
	tag := "{" + prefix + ":" + strconv.Itoa(i) + "}"
	keys := []string{tag + ":lru", tag + ":sizes", tag + ":meta"}
	return shard{
		keys:        keys,
		all:         append(keys[:3:3], tag+":versions", tag+":listed", tag+":listedin"),
		entryPrefix: tag + ":e:",
		indexPrefix: tag + ":ix:",
		leasePrefix: tag + ":lease:",
		channel:     tag + ":leases",
		recounted:   new(atomic.Int64),
	}
}

// New returns a Store that keeps entries in Redis through client, configured
// by opts. client may be a *redis.Client, a failover (Sentinel) client or a
// *redis.ClusterClient; the caller keeps ownership of it and closes it after
// the Store. New does not contact Redis.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: DefaultPrefix, idleTTL: DefaultIdleTTL, nshards: 1, leasePoll: DefaultLeasePoll}
	s.touches.sending = make(chan struct{}, 1)
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(s)
		}
	}
	s.idleMillis = strconv.FormatInt(s.idleTTL.Milliseconds(), 10)
	s.metaMillis = strconv.FormatInt((s.idleTTL + metaSlack).Milliseconds(), 10)
	s.shards = make([]shard, s.nshards)
	for i := range s.shards {
		s.shards[i] = newShard(s.prefix, i)
	}
	return s
}

// KeepsDeadlines reports whether the Store's calls return by the deadlines
// of their contexts ([acache.DeadlineKeeper]): when its client was made
// with ContextTimeoutEnabled, so that go-redis sets each connection's read
// and write deadlines from the context (otherwise it applies its own
// ReadTimeout and WriteTimeout, 3 seconds by default, whatever the
// context). The Cache then looks entries up on the request's goroutine.
// It reports false for a client of a type it does not know.
func (s *Store) KeepsDeadlines() bool {
	switch c := s.client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// partitionTag starts the partition part of a cache key
// ([acache.Committer]): a key's URI key is the key up to it.
const partitionTag = "\x00auth="

// uriKey returns the URI key of key: key without its partition, if it has
// one.
func uriKey(key string) (uri string, partitioned bool) {
	if i := strings.Index(key, partitionTag); i >= 0 {
		return key[:i], true
	}
	return key, false
}

// locate returns the shard of key and its member there: 128 bits of the
// SHA-256 of the key, in hex, so that keys of any bytes and any length make
// short, printable Redis keys that nobody can make collide. The shard is
// chosen by the SHA-256 of the key's URI key, so that every key of a URI,
// and the URI's index, live in one shard (one hash tag, one Cluster slot).
func (s *Store) locate(key string) (*shard, string) {
	sum := sha256.Sum256([]byte(key))
	member := hex.EncodeToString(sum[:16])
	if len(s.shards) == 1 {
		return &s.shards[0], member
	}
	if uri, partitioned := uriKey(key); partitioned {
		sum = sha256.Sum256([]byte(uri))
	}
	i := binary.BigEndian.Uint64(sum[16:24]) % uint64(len(s.shards))
	return &s.shards[i], member
}

// entryKeys returns key's shard, the KEYS of a script on it (the
// bookkeeping keys, then the key of key's value) and key's member.
func (s *Store) entryKeys(key string) (*shard, []string, string) {
	sh, member := s.locate(key)
	return sh, append(sh.all[:6:6], sh.entryPrefix+member), member
}
