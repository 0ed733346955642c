// Package rediscache is an [acache.Backend] that keeps a Cache's entries in
// Redis, so that many processes share one cache and one LRU order. It works
// over any [redis.UniversalClient]: one node, Sentinel (a failover client)
// or a Redis Cluster.
//
//	store := rediscache.New(client, rediscache.WithPrefix("myapp"))
//	defer store.Close()
//	transport := acache.NewTransport(acache.NewCache(store))
//
// # Keys
//
// An entry's value is its [acache.Entry.MarshalBinary] encoding (versioned,
// checksummed), under a key named by 128 bits of the SHA-256 of the cache
// key: cache keys may hold any bytes at any length, and nobody can make two
// collide. The value holds the full key, which Get compares: a value
// holding another key's entry is a miss. Bytes that do not decode are an
// error wrapping [acache.ErrCorruptEntry], and the Cache then removes them.
//
// Beside the values, each LRU keeps a sorted set of its members scored by
// recency, a hash of their sizes ([acache.Entry.Size]) and a hash holding
// their sum and the last score. All the keys of an LRU share the hash tag
// {prefix:i}, so they live in one Cluster slot:
//
//	{prefix:i}:lru    sorted set  member -> recency (microseconds)
//	{prefix:i}:sizes  hash        member -> size
//	{prefix:i}:meta   hash        bytes -> sum of sizes, clock -> last score
//	{prefix:i}:e:<member>         the encoded entry
//
// Set, Pop, PopOldest and MoveToEnd are Lua scripts (EVALSHA) that change
// the value, the order, the sizes and the sum together, atomically, so that
// concurrent processes never corrupt the order or the counts. A score is
// the Redis server's TIME in microseconds, or one more than the last score
// if that is not greater: uses are ordered exactly, and scores of different
// LRUs compare. MoveToEnd uses ZADD XX, so a touch never brings back an
// entry another process removed. Get is one GET: a hit costs one round
// trip.
//
// # Shards
//
// By default ([WithShards](1)) there is one LRU, on one node: the order is
// exact, and Len, Size and PopOldest are one command each; in a Cluster the
// whole cache then lives on the node of one slot. With WithShards(n), a key
// goes to one of n LRUs by its hash, each under its own hash tag, so a
// Cluster spreads them; Len and Size then sum the shards in one pipeline,
// and PopOldest reads the oldest member of every shard (a pipeline), then
// pops the oldest of the shard whose oldest was oldest, in a script that
// reads it again. The order across shards is as exact as the nodes' clocks
// agree and another process does not pop in between. Every Store on a
// prefix must use the same number of shards.
//
// # Touches
//
// The Cache calls MoveToEnd after every hit, without waiting for it. The
// Store queues these touches and sends them a millisecond later in one
// script per shard, a key touched many times in between once: a hit costs
// Redis one GET and a share of a batch, not a second script. Set, Pop and
// PopOldest send the queue first, so in one Store the order follows the
// calls exactly; other processes see a touch up to about a millisecond
// late. Close sends what is queued and stops the goroutine that sends them;
// it does not close the client, which the caller owns.
//
// # TTL
//
// Each value has a Redis TTL, the idle TTL ([WithIdleTTL], default
// [DefaultIdleTTL]), started again by every Set and MoveToEnd: an entry
// nobody uses goes by itself, while one in use stays. The TTL is not the
// response's freshness lifetime: a stale response with a validator (ETag,
// Last-Modified) is still worth keeping, since revalidating it costs the
// origin a 304 instead of the whole body. The Cache's own limits evict in
// LRU order long before the TTL in a busy cache; the TTL cleans up after
// caches that are idle, shrink or go away.
//
// A value that expired leaves its member, counted, in the order: Len and
// Size over-count it until a script comes across it. PopOldest forgets the
// members whose value is gone on its way to the oldest live entry (they are
// the oldest anyway, having been idle longest), and Pop, Set and MoveToEnd
// forget or replace such a member of their key. The bookkeeping keys have a
// TTL too, a minute longer than the idle TTL, started again on every write,
// so they outlive every entry they count and an abandoned prefix disappears
// entirely.
//
// Redis's own eviction (maxmemory) removes values like an expiry does; if it
// removes an LRU's bookkeeping keys, their entries stay uncounted until
// their TTL. Give Redis the room the Caches' limits ([acache.WithMaxBytes])
// need, so that those limits evict first.
//
// # Limits across processes
//
// Size reports the sum for every process, so each Cache keeps the whole
// store within its limits. Two processes storing at the same moment may
// each make room for their own entry only, so the store may pass the limit
// by the entries being stored at that moment, until the next store makes
// room again.
//
// # Failures
//
// Every method returns Redis's errors (a miss is not one); the Cache counts
// and logs them, and serves the request from the origin within its backend
// timeout ([acache.WithBackendTimeout]). go-redis reconnects by itself when
// Redis comes back. Give the client timeouts (DialTimeout, ReadTimeout,
// WriteTimeout, and DialerRetries) shorter than the backend timeout, so
// that its calls end when the Cache stops waiting for them.
package rediscache
