package rediscache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

var (
	_ acache.Backend = (*Store)(nil)
	_ acache.Sizer   = (*Store)(nil)
)

// errNoClient is what every method of a Store made from a nil client
// returns: the Cache then bypasses itself, and says so once.
var errNoClient = fmt.Errorf("rediscache: Store has no Redis client: %w", acache.ErrNilBackend)

// metaSlack is how much longer than the idle TTL the bookkeeping keys of a
// shard live after the last write: they outlive every entry they count.
const metaSlack = time.Minute

// Store is an [acache.Backend] and [acache.Sizer] that keeps entries in Redis,
// in one LRU order shared by every Store on the same prefix, in any process.
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
}

// shard names the Redis keys of one LRU, all under one hash tag so that a
// script may touch them together in a Redis Cluster.
type shard struct {
	keys        []string      // lru, sizes, meta: the scripts' first KEYS
	entryPrefix string        // followed by a member, the key of an entry's value
	recounted   *atomic.Int64 // when this Store last recounted the sum (heal.go), in Unix nanoseconds
}

// New returns a Store that keeps entries in Redis through client, configured
// by opts. client may be a *redis.Client, a failover (Sentinel) client or a
// *redis.ClusterClient; the caller keeps ownership of it and closes it after
// the Store. New does not contact Redis.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, prefix: DefaultPrefix, idleTTL: DefaultIdleTTL, nshards: 1}
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(s)
		}
	}
	s.idleMillis = strconv.FormatInt(s.idleTTL.Milliseconds(), 10)
	s.metaMillis = strconv.FormatInt((s.idleTTL + metaSlack).Milliseconds(), 10)
	s.shards = make([]shard, s.nshards)
	for i := range s.shards {
		tag := "{" + s.prefix + ":" + strconv.Itoa(i) + "}"
		s.shards[i] = shard{
			keys:        []string{tag + ":lru", tag + ":sizes", tag + ":meta"},
			entryPrefix: tag + ":e:",
			recounted:   new(atomic.Int64),
		}
	}
	return s
}

// locate returns the shard of key and its member there: 128 bits of the
// SHA-256 of the key, in hex, so that keys of any bytes and any length make
// short, printable Redis keys that nobody can make collide.
func (s *Store) locate(key string) (*shard, string) {
	sum := sha256.Sum256([]byte(key))
	i := 0
	if len(s.shards) > 1 {
		i = int(binary.BigEndian.Uint64(sum[16:24]) % uint64(len(s.shards)))
	}
	return &s.shards[i], hex.EncodeToString(sum[:16])
}

// entryKeys returns key's shard, the KEYS of a script on it (the
// bookkeeping keys, then the key of key's value) and key's member.
func (s *Store) entryKeys(key string) (*shard, []string, string) {
	sh, member := s.locate(key)
	return sh, append(sh.keys[:3:3], sh.entryPrefix+member), member
}
