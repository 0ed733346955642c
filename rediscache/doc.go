// Package rediscache is an [acache.Backend] that keeps a Cache's entries in
// Redis, so that many processes share one cache and one LRU order, and
// behave as one cache ([acache.Committer]) that sends one request per URL
// to the origin at a time ([acache.Leaser]). It works
// over any [redis.UniversalClient]: one node, Sentinel (a failover client)
// or a Redis Cluster.
//
//	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
//	store := rediscache.New(client, rediscache.WithPrefix("myapp"))
//	defer store.Close()
//	transport := acache.NewTransport(acache.NewCache(store))
//
// Make the client with ContextTimeoutEnabled: its calls then end at the
// deadlines the Cache gives them, and the Cache calls the Store on the
// request's goroutine ([acache.DeadlineKeeper], [Store.KeepsDeadlines]).
// Without it, go-redis applies its own timeouts whatever the context, and
// the Cache runs each call in a goroutine of its own, to stop waiting for
// it at its deadline: a hit then costs about 10 to 20 µs more on loopback.
//
// # Keys
//
// An entry's value is its [acache.Entry.MarshalBinary] encoding (versioned,
// checksummed), under a key named by 128 bits of the SHA-256 of the cache
// key, its member: cache keys may hold any bytes at any length, and nobody
// can make two collide. The value holds the full key, which Get compares: a
// value holding another key's entry is a miss. Bytes that do not decode are
// an error wrapping [acache.ErrCorruptEntry], and the Cache then removes
// them (see Damage below).
//
// Beside the values, each LRU (a shard) keeps a sorted set of its members
// scored by recency, a hash of their sizes ([acache.Entry.Size]), a hash
// holding their sum, the number of changes made to the sum and the last
// score, a hash of their versions ([acache.Entry.Version], which Commit
// compares without decoding a value), and the partition indexes: for each
// URI key with keys of users listed, a sorted set of their members scored
// by when they were listed, and two hashes for the whole shard, from each
// listed member to its full key (which Listed returns) and to the member of
// the URI key listing it (so that removing it unlists it). All the keys of
// an LRU share the hash tag {prefix:i}, so they live in one Cluster slot:
//
//	{prefix:i}:lru        sorted set  member -> recency (microseconds)
//	{prefix:i}:sizes      hash        member -> size
//	{prefix:i}:meta       hash        bytes -> sum of sizes, version -> changes
//	                                  to bytes, clock -> last score, kept ->
//	                                  when a Commit last started the TTLs
//	{prefix:i}:versions   hash        member -> version (decimal)
//	{prefix:i}:listed     hash        member -> full cache key
//	{prefix:i}:listedin   hash        member -> member of its URI key
//	{prefix:i}:ix:<uri>   sorted set  member -> when listed (microseconds),
//	                                  the index of the URI key of member <uri>
//	{prefix:i}:e:<member>             the encoded entry
//	{prefix:i}:lease:<member>         the key's lease: its holder's token,
//	                                  with the lease's TTL (see Leases)
//	{prefix:i}:leases     channel     the words of the shard's releases, a
//	                                  sharded pub/sub channel (not a key)
//
// Set, Pop, PopOldest, MoveToEnd and Commit are Lua scripts (EVALSHA) that
// change the value, the order, the sizes, the sum, the versions and the
// indexes together, atomically, so that concurrent processes never corrupt
// the order, the counts or an index. A score is the Redis server's TIME in
// microseconds, or one more than the last score if that is not greater:
// uses and listings are ordered exactly, and scores of different LRUs
// compare. MoveToEnd uses ZADD XX, so a touch never brings back an entry
// another process removed. Get is one GET: a hit costs one round trip.
//
// # Committer
//
// A Store is an [acache.Committer]: a Cache over it stores through Commit
// alone, and Caches in any number of processes sharing a prefix behave as
// one cache. Commit is one script on the key's shard that, atomically:
// compares the version recorded for the key with the one the Cache read
// (a Conflict changes nothing, and the Cache reads and merges again);
// refuses an entry larger than the shard's byte bound; lists a key with a
// partition in the index of its URI key, once, removing the entries listed
// earliest past the Commit's MaxListed; evicts the least recently used
// entries of the shard but the key's, unlisting each, until the entry fits
// within the shard's bounds; and writes the value with the idle TTL, its
// order, size and version. So no store undoes another, no user's copy
// escapes an invalidation of its URI, and the limits hold at every moment,
// whatever the processes do at once. The script removes at most 64 entries
// a call: when it needs more, it writes nothing and Commit runs it again,
// so the entry is written only once it fits. Listed is one script that
// reads an index. Pop of a URI key removes, in one script, its entry, every
// entry its index lists and the index; Pop of a listed key and PopOldest
// unlist what they remove. Set lists nothing and makes no room: it is the
// plain [acache.Backend] method, for callers other than the Cache.
//
// A value whose version is not recorded (stored by Set with version 0, or
// left after damaged bookkeeping was deleted, see Damage) is replaced by a
// Commit whatever version the Cache read, so that no key is stuck; a value
// that expired has none (version 0).
//
// # Round trips
//
// A Cache over a Store costs Redis, per operation:
//
//   - a hit: one GET, and a share of a batch of touches (see Touches);
//   - a miss that is stored: the lookup (one GET), the script that takes
//     the key's lease (see Leases) and one Commit, which carries the
//     touches queued for its shard and releases the lease; one more script
//     per 64 entries it must evict past the first 64, and a recount (a
//     transaction and a script) when it finds its shard's sum damaged;
//   - a miss whose lease another process holds: the lookup, the lease
//     script, the wait (see Leases), then the lookup again;
//   - a revalidation answered 304: the lookup, the lease script (which
//     sends no value back) and one Commit (the Cache merges with what its
//     lookup read, without another GET); a Commit that conflicts costs a
//     GET and a Commit more;
//   - an unsafe request (RFC 9111 Section 4.4): one Pop script per URI key
//     it invalidates (the GET and HEAD keys of its target URI, and of
//     Location and Content-Location when they have the same origin), and,
//     once the Cache has stored a response under a partition, one Size
//     pipeline, to count what the Pops removed with the keys' indexes
//     ([acache.Stats] Entries and Bytes);
//   - Purge of a URL: one Pop per URI key (GET and HEAD), and the same
//     Size pipeline;
//   - Inspect of a URL: per URI key, a GET, a Listed script and a GET per
//     key listed.
//
// Set, Pop and PopOldest cost one script each, after the touches queued, if
// any, are sent; Len and Size one pipeline.
//
// # Leases
//
// A Store is an [acache.Leaser]: Caches in many processes that miss one
// key at once send one request to the origin, not one each. The first to
// miss takes the key's lease, a string {prefix:i}:lease:<member> in the
// key's shard holding the token of the request that holds it, with a TTL
// (in milliseconds, rounded up) after which it ends by itself if its
// holder neither renews nor releases it. GetOrLease is one script, so
// that no process stores or leases the key in between: it returns the
// key's value, decoded as Get decodes it (a value holding another key's
// entry is a miss, for which a second script takes the lease), or takes
// the lease with SET NX PX unless another token holds it. RenewLease is one
// script that starts the TTL again if the token still holds the lease, and
// ReleaseLease one that deletes it if the token holds it and publishes
// "<member> dropped": the response will not be stored. A Commit with a
// Lease releases it in its own script, when it stores the entry and the
// token still holds it, and publishes "<member> stored"; a Commit that
// stores nothing (a conflict, an entry too large) leaves it held. A Commit
// without a Lease makes no Redis call more.
//
// The words go to the shard's channel, {prefix:i}:leases, through Redis 7's
// sharded pub/sub (SPUBLISH, SSUBSCRIBE): in a Cluster the node of the
// shard's slot carries them, and no other. A Store subscribes to a shard's
// channel the first time it waits on the shard, on a connection of its own
// (to the shard's node, in a Cluster), keeps the subscription until Close,
// and hands each word to its waits for the member in a goroutine per
// subscription; every Store subscribed to a shard hears every release of
// the shard, from the whole fleet. When the shard's slot moves to another
// node, Redis ends the subscription, and the next wait on the shard
// subscribes again. Should subscribing fail (Redis older than 7, say), the
// shard's waiters poll only, and a Store tries again a second later.
//
// AwaitLease waits for the word, but never on it alone: go-redis drops the
// words that come while it reconnects, or when its buffer is full, and a
// holder that dies says nothing. It waits until the shard's subscription
// is confirmed (no longer than one poll interval) so that no release goes
// unheard, then looks at the lease with EXISTS: gone, it returns at once,
// true. Otherwise it returns on the word (stored: true, look the key up
// again; dropped: false, go to the origin), or, on one of the EXISTS it
// sends every poll interval ([WithLeasePoll], default [DefaultLeasePoll]),
// when the lease is gone (true), or when its context ends, with the
// context's cause. After Close it polls only.
//
// A lease costs Redis: for the process that takes it, the GetOrLease
// script, one round trip after its lookup missed; a ReleaseLease script
// when the response is not stored (the Commit that stores it releases it
// at no round trip more); and a RenewLease script every third of the TTL
// while the response arrives, as the Cache renews it. For a waiting
// process: the GetOrLease script, one subscription per shard per Store
// (a connection each, held until Close), one EXISTS per wait and per poll
// tick, and the lookup again.
//
// # Shards
//
// By default ([WithShards](1)) there is one LRU, on one node: the order is
// exact, and Len, Size and PopOldest are one command each; in a Cluster the
// whole cache then lives on the node of one slot. With WithShards(n), a key
// goes to one of n LRUs, each under its own hash tag, so a Cluster spreads
// them. The shard is chosen by the SHA-256 of the key's URI key (the key up
// to its first "\x00auth=", without the partition), so that a URI's entry,
// the entries of all its users and its index share one shard and one slot,
// as Commit and Pop need; a key without a partition is its own URI key.
//
// Each shard is bounded by a share of a Commit's limits: MaxEntries/n
// entries (at least 1) and MaxBytes/n bytes, so that the limits hold over
// the whole Store with no shard reading another. An entry larger than
// MaxBytes/n is not stored, and a shard evicts when it is full even if
// others have room: keys spread by hash, so a shard holds about its share.
// Commit reports the bytes of its shard times n, which the Cache shows in
// [acache.Stats]. Len and Size sum the shards in one pipeline, and
// PopOldest reads the oldest member of every shard (a pipeline), then pops
// the oldest of the shard whose oldest was oldest, in a script that reads
// it again. The order across shards is as exact as the nodes' clocks agree
// and another process does not pop in between. Every Store on a prefix must
// use the same number of shards.
//
// Stores of earlier versions chose a key's shard by the key itself. With
// WithShards(n) for n > 1, the entries they stored under a partition (a
// user's copy) are in another shard than the one the key now reaches: they
// are unreachable, never served, and go when their shard evicts them or
// their idle TTL expires. Entries without a partition, and every entry of a
// Store of one shard, stay where they were.
//
// # Touches
//
// The Cache calls MoveToEnd after every hit, without waiting for it. The
// Store queues these touches and sends them a millisecond later in one
// script per shard, a key touched many times in between once: a hit costs
// Redis one GET and a share of a batch, not a second script. Set, Pop and
// PopOldest send the queue first, and Commit takes the touches queued for
// its shard into its own script, applied before it evicts, so in one Store
// the order follows the calls; other processes see a touch up to about a
// millisecond late. Close sends what is queued and stops the goroutine
// that sends them, and the subscriptions of the leases and their
// goroutines; it does not close the client, which the caller owns.
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
// A value that expired leaves its member, counted (and listed), in the
// order: Len and Size over-count it until a script comes across it.
// PopOldest and Commit forget (and unlist) the members whose value is gone
// on their way to the oldest live entry (they are the oldest anyway, having
// been idle longest), and Pop, Set, MoveToEnd and Commit forget or replace
// such a member of their key. The bookkeeping keys have a TTL too, a minute
// longer than the idle TTL, started again on every write but Commit, which
// starts them again at most every 15 seconds (and whenever its shard was
// empty or lost entries, when the keys may be new), saving six calls a
// store: they outlive every entry they count by most of that minute, and
// an abandoned prefix disappears entirely. An
// index has the same TTL, started again whenever it lists a key and
// whenever a key it lists is set or touched, so it outlives what it
// lists.
//
// Redis's own eviction (maxmemory) removes values like an expiry does; if it
// removes an LRU's bookkeeping keys, their entries stay uncounted until
// their TTL. Give Redis the room the Caches' limits ([acache.WithMaxBytes])
// need, so that those limits evict first.
//
// # Limits across processes
//
// Commit bounds each shard within its script, so the limits of the Commit
// being made hold at every moment, across processes: Caches with the same
// limits never take the store past them. Size reports the sum for every
// process. A caller of Set alone (not the Cache, which stores through
// Commit) makes room itself, with Size and PopOldest, and two processes
// doing so at once may pass the limits by the entries being set.
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
// the Cache pops it; Pop, PopOldest and Commit (for its key, or one it
// evicts) delete it and forget its member, and report the same error
// (Commit then writes nothing); Set replaces it, and GetOrLease reports it
// as Get does. The URL is then cached again. A lease of another type than
// a string is held by no token: GetOrLease deletes it and takes the lease.
// A bookkeeping key of the wrong type makes Redis refuse Size and
// the scripts; the Store then deletes the LRU's six bookkeeping keys, and
// the LRU starts again empty, the values it counted left uncounted and
// unlisted until their TTL (their versions forgotten, so a Commit replaces
// them), and its indexes until theirs. The call that came across it
// fails; the next one works. An index of another type than a sorted set is
// deleted by the script that comes across it, which goes on without it:
// the keys it listed are no longer reached by an invalidation of their
// URI, until they are evicted or expire. A value copied by hand under
// another key's name is a miss for Get, but holds the version recorded for
// that key: stores of that key conflict until it is removed (by a Pop, an
// invalidation of the URL, an eviction or its TTL).
//
// An LRU's sum lies between 0 and its number of entries times 256 MiB, the
// largest Size that Set and Commit accept. A sum outside that range, or not
// an integer, is damaged: a huge one would make every Cache evict the whole
// store on every store, for good, and a negative one would let the store
// grow past every limit. Size then recounts it: it reads the LRU's sizes
// (one HVALS) and its version in one transaction, sums them in Go (a
// script doing it would block Redis as long), and writes the sum back
// through a script that does so only if the version is unchanged: every
// script that changes the sum moves the version on. Processes that recount
// at once are safe: a recount made stale by a change is dropped, and Size
// reports the sum it read either way. A Store recounts an LRU at most once
// a second; meanwhile, and if the recount fails, a damaged sum counts as 0
// bytes for Size. Commit checks the sum of its shard the same way before it
// makes room, and changes nothing over a damaged one: it recounts it and
// runs again or, when this Store recounted the shard less than a second
// before, fails, for a later store to find it recounted. A shard is
// recounted when a Size or a Commit reaches it. A recount costs Redis
// O(entries of the LRU), one more reason to shard a large cache. A sum the
// scripts cannot add to (not an integer, or at the end of the int64 range)
// becomes -1, damaged, for the next Size or Commit to recount.
//
// A damaged sum within the range cannot be told from a real one. Too
// large, it makes the Caches believe the store fuller than it is: by less
// than their byte limit, the store holds that much less; by more, they
// evict until an LRU is empty (but for the key being stored), where the
// sum must be 0 (or that key's size), and it is recounted. Too small, it lets the store grow that much past the limits,
// until pops take the sum below 0. Either way caching goes on.
//
// # Failures
//
// Every method returns Redis's errors (a miss is not one); the Cache counts
// and logs them, and serves the request from the origin within its backend
// timeout ([acache.WithBackendTimeout]). go-redis reconnects by itself when
// Redis comes back. With ContextTimeoutEnabled, each call ends at the
// deadline the Cache gives it (the Store waits for a batch of touches under
// way no longer than that either); without it, give the client timeouts
// (DialTimeout, ReadTimeout, WriteTimeout, and DialerRetries) shorter than
// the backend timeout, so that its calls end when the Cache stops waiting
// for them.
package rediscache
