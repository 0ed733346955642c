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
// error wrapping [acache.ErrCorruptEntry], and the Cache then removes them
// (see Damage below).
//
// Beside the values, each LRU keeps a sorted set of its members scored by
// recency, a hash of their sizes ([acache.Entry.Size]) and a hash holding
// their sum, the number of changes made to the sum and the last score. All
// the keys of an LRU share the hash tag {prefix:i}, so they live in one
// Cluster slot:
//
//	{prefix:i}:lru    sorted set  member -> recency (microseconds)
//	{prefix:i}:sizes  hash        member -> size
//	{prefix:i}:meta   hash        bytes -> sum of sizes, version -> changes
//	                              to bytes, clock -> last score
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
// # Damage
//
// Redis may hold what no script wrote: keys written under the prefix by
// hand or by another program, or a restored dump. A Store treats them as
// it treats bytes that do not decode, as damage to remove, so that caching
// goes on without a restart.
//
// A key of another type than a string where a value belongs (a hash, a
// list) is an error wrapping [acache.ErrCorruptEntry] from Get, after which
// the Cache pops it; Pop and PopOldest delete it and forget its member, and
// report the same error; Set replaces it. The URL is then cached again. A
// bookkeeping key of the wrong type makes Redis refuse Size and the
// scripts; the Store then deletes the LRU's three bookkeeping keys, and the
// LRU starts again empty, the values it counted left uncounted until their
// TTL. The call that came across it fails; the next one works.
//
// An LRU's sum lies between 0 and its number of entries times
// 256 MiB, the largest Size that Set accepts. A sum
// outside that range, or not an integer, is damaged: a huge one would make
// every Cache evict the whole store on every store, for good, and a
// negative one would let the store grow past every limit. Size then
// recounts it: it reads the LRU's sizes (one HVALS) and its version in one
// transaction, sums them in Go (a script doing it would block Redis as
// long), and writes the sum back through a script that does so only if the
// version is unchanged: every script that changes the sum moves the
// version on. Processes that recount at once are safe: a recount made
// stale by a change is dropped, and Size reports the sum it read either
// way. A Store recounts an LRU at most once a second; meanwhile, and if
// the recount fails, a damaged sum counts as 0 bytes. A recount costs Redis
// O(entries of the LRU), one more reason to shard a large cache. A sum the
// scripts cannot add to (not an integer, or at the end of the int64 range)
// becomes -1, damaged, for the next Size to recount.
//
// A damaged sum within the range cannot be told from a real one. Too
// large, it makes the Caches believe the store fuller than it is: by less
// than their byte limit, the store holds that much less; by more, they
// evict until an LRU is empty, where the sum must be 0, and it is
// recounted. Too small, it lets the store grow that much past the limits,
// until pops take the sum below 0. Either way caching goes on.
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
