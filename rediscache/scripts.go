package rediscache

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts that change a shard: each runs atomically on the node that
// holds the shard, so that the recency order, the sizes, the byte count, the
// versions and the partition indexes always agree with each other, whatever
// other processes do. Every script but writeBackScript, listedScript and
// those of the leases (at the end of this file) gets the shard's
// bookkeeping keys first:
//
//	KEYS[1] lru       sorted set: member -> recency score
//	KEYS[2] sizes     hash: member -> Entry.Size of its entry
//	KEYS[3] meta      hash: "bytes" -> sum of sizes, "clock" -> last score,
//	                  "version" -> number of changes to "bytes", "kept" ->
//	                  when a Commit last started the TTLs again
//	KEYS[4] versions  hash: member -> Entry.Version of its entry (decimal)
//	KEYS[5] listed    hash: member -> the full cache key it is listed as
//	KEYS[6] listedin  hash: member -> the member of the URI key whose index
//	                  lists it
//
// Members are the hashes of the cache keys (see Store.locate). The shard's
// other keys are named after KEYS[1], "{prefix:i}:lru": an entry's value is
// "{prefix:i}:e:" followed by its member (valueKey), and the index of a URI
// key, a sorted set of the members it lists scored by when they were
// listed, is "{prefix:i}:ix:" followed by the URI key's member (indexKey).
// They share the shard's hash tag, so a script reaches them in a Cluster.
// Numbers go to Redis through string.format("%d"), never tostring, which
// would round a score in microseconds to 14 digits. A version is never a
// Lua number (it would lose bits past 2^53): scripts compare it as the
// string Go wrote.
//
// Every change to the sum goes through add, which counts it in "version":
// a recount made from Go (heal.go) is written back only if the version is
// the one it read with the sizes. A sum that HINCRBY cannot add to (not an
// integer, or at the end of its range) becomes -1, which no shard can hold,
// so that Size recounts it. value reads an entry's value, and deletes a key
// of another type than a string found in its place: nothing the Store
// wrote, and a key that every GET would refuse for good; sortedSet does the
// same for an index. forget removes a member from the order, the sizes and
// the versions, and unlists it from the index that lists it; it leaves the
// member's own index (when it is a URI key's) alone. touch makes a member
// the newest and starts its idle TTL again, and its index's TTL.
const luaCommon = `
local shardTag = string.sub(KEYS[1], 1, -4)
local function valueKey(member) return shardTag .. 'e:' .. member end
local function indexKey(uri) return shardTag .. 'ix:' .. uri end
local function kind(key) return redis.call('TYPE', key).ok end
local function clock()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('HGET', KEYS[3], 'clock') or '0')
  if now <= last then now = last + 1 end
  local s = string.format('%d', now)
  redis.call('HSET', KEYS[3], 'clock', s)
  return s
end
local function add(delta)
  local ok = redis.pcall('HINCRBY', KEYS[3], 'bytes', string.format('%d', delta))
  if type(ok) == 'table' then redis.call('HSET', KEYS[3], 'bytes', '-1') end
  redis.call('HINCRBY', KEYS[3], 'version', 1)
end
local function sortedSet(key)
  local t = kind(key)
  if t == 'zset' then return true end
  if t ~= 'none' then redis.call('UNLINK', key) end
  return false
end
local function unlist(member)
  local uri = redis.call('HGET', KEYS[6], member)
  if not uri then return end
  redis.call('HDEL', KEYS[5], member)
  redis.call('HDEL', KEYS[6], member)
  local ix = indexKey(uri)
  if sortedSet(ix) then redis.call('ZREM', ix, member) end
end
local function forget(member)
  local size = redis.call('HGET', KEYS[2], member)
  if size then
    redis.call('HDEL', KEYS[2], member)
    add(-tonumber(size))
  end
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[4], member)
  unlist(member)
end
local function value(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then
    redis.call('UNLINK', key)
    return true
  end
  return v
end
local function keep(ttl)
  for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function keepIndexOf(member, ttl)
  local uri = redis.call('HGET', KEYS[6], member)
  if uri then redis.call('PEXPIRE', indexKey(uri), ttl) end
end
local function touch(member, key, idle, ttl)
  if not redis.call('ZSCORE', KEYS[1], member) then return false end
  if redis.call('PEXPIRE', key, idle) == 0 then
    forget(member)
    return false
  end
  redis.call('ZADD', KEYS[1], 'XX', clock(), member)
  keepIndexOf(member, ttl)
  return true
end
local function recordVersion(member, version)
  if version == '0' then
    redis.call('HDEL', KEYS[4], member)
  else
    redis.call('HSET', KEYS[4], member, version)
  end
end
`

// setScript stores a value as the newest entry, replacing any other under
// its member, records its version (none for 0), and corrects the byte
// count by the difference. It lists nothing, and leaves a listing alone.
//
//	KEYS[7] the entry's key
//	ARGV    member, value, size, version, idle TTL (ms), bookkeeping TTL (ms)
var setScript = redis.NewScript(luaCommon + `
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
redis.call('SET', KEYS[7], ARGV[2], 'PX', ARGV[5])
redis.call('ZADD', KEYS[1], clock(), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
recordVersion(ARGV[1], ARGV[4])
add(tonumber(ARGV[3]) - old)
keepIndexOf(ARGV[1], ARGV[6])
keep(ARGV[6])
return 1
`)

// popScript removes a member and its value, unlisting it, then every
// member that its own index lists (when it is a URI key's) with their
// values, and the index. It returns the member's value (nil when it
// expired or was never stored, and 1 when a key of another type stood in
// its place, now deleted).
//
//	KEYS[7] the entry's key
//	KEYS[8] the index of the entry's key, as a URI key
//	ARGV    member
var popScript = redis.NewScript(luaCommon + `
local v = value(KEYS[7])
forget(ARGV[1])
if v and v ~= true then redis.call('DEL', KEYS[7]) end
if sortedSet(KEYS[8]) then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
    redis.call('UNLINK', valueKey(m))
    forget(m)
  end
  redis.call('UNLINK', KEYS[8])
end
if v == true then return 1 end
return v
`)

// popOldestScript removes the oldest member, unlisting it, and returns its
// value; it leaves the member's own index alone. Members whose value
// expired are the oldest ones, and are forgotten on the way; it returns nil
// when the shard is empty, 0 when it only forgot expired members, to be
// run again (a script must not block Redis for long), and 1 when it
// removed a key of another type in place of the oldest value.
var popOldestScript = redis.NewScript(luaCommon + `
for i = 1, 100 do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #oldest == 0 then return false end
  local key = valueKey(oldest[1])
  local v = value(key)
  forget(oldest[1])
  if v == true then return 1 end
  if v then
    redis.call('DEL', key)
    return v
  end
end
return 0
`)

// touchScript makes members the newest, in the order given, and starts
// their idle TTL again, if they are stored: ZADD XX never brings back a
// member that another process removed. A member whose value expired is
// forgotten. The index listing a member lives as long as the bookkeeping
// from then on.
//
//	KEYS[7..] the entries' keys, one per member
//	ARGV      idle TTL (ms), bookkeeping TTL (ms), then the members
var touchScript = redis.NewScript(luaCommon + `
local touched = 0
for i = 3, #ARGV do
  if touch(ARGV[i], KEYS[i + 4], ARGV[1], ARGV[2]) then touched = touched + 1 end
end
if touched > 0 then keep(ARGV[2]) end
return touched
`)

// commitScript is one attempt at Store.Commit (commit.go), as one atomic
// step; see luaCommit for what it does.
var commitScript = redis.NewScript(luaCommon + luaRelease + luaCommit)

// keepEvery is how often, at most, a Commit starts the bookkeeping keys' TTL
// again, in microseconds: well within metaSlack, so that the bookkeeping
// still outlives every value (each written with the idle TTL) by most of
// that slack.
const keepEvery = 15 * 1_000_000

// luaCommit stores a value the way [acache.Committer] says, on one shard
// within the shard's bounds: it applies the touches it carries (the Store's
// queue for the shard), then
//
//  1. compares the version recorded for the member with the one the caller
//     read: "conflict" when they differ, and nothing changes. A member
//     whose value expired has none ("0"); a value whose version is not
//     recorded, or recorded as no Commit writes it ("0", from Set), is
//     replaced whatever the caller read (a value written by Set with
//     version 0, or left after damaged bookkeeping was deleted), so that
//     no key is stuck;
//  2. returns "large" for a value larger than the shard's byte bound;
//  3. returns "damaged", changing nothing, when the sum cannot be the sum
//     of the shard's entries, for Go to recount it (heal.go);
//  4. when the key has an index (a URI key's member), removes the entries
//     listed earliest, unlisting them, until one more fits within the
//     index's bound;
//  5. removes the least recently used entries other than the key's,
//     unlisting each, until the value, replacing the key's, fits within
//     the shard's bounds; it returns "damaged" when none is left and it
//     still does not fit;
//  6. lists the key in its index, if it is not, and writes the value, its
//     order, size and version, returning "stored".
//
// Steps 4 and 5 remove at most a budget of entries per call: past it the
// script writes nothing and returns "again", for Go to call it again. A
// key of another type found in place of a value is deleted and its member
// forgotten; the script then writes nothing and returns "wrongtype". It
// returns {status, entries removed (evicted), the shard's sum, the shard's
// entries once the value is written ("stored"; 0 otherwise)}: the count
// read before the write, and one more when ZADD added the member.
//
// With a lease token (a Commit's Lease), a script that stores the value
// then releases the key's lease if the token still holds it, and publishes
// "<member> stored" on the shard's channel (lease.go): the waiters look the
// key up again and find the value. Any other status leaves the lease held.
// Without a token this costs no call.
//
// A Commit is most of the writes a fleet makes, so its common path (nothing
// to evict) is a dozen Redis calls: the meta hash is read in one HMGET and
// written in one HSET (the sum, its version, the clock), the bookkeeping
// keys' TTLs are started again only every keepEvery (and whenever the shard
// was empty or lost entries, when its keys may have been created afresh),
// and an index's TTL when the key is listed in it.
//
//	KEYS[7]   the entry's key
//	KEYS[8]   the index that lists the entry's key, when it has a partition
//	KEYS[-2]  with a lease token, the key's lease, then the shard's channel
//	          (the last two keys)
//	ARGV      member, key, value, size, version, the version read, max
//	          entries, max bytes, max listed, index member ("" for none),
//	          budget, idle TTL (ms), bookkeeping TTL (ms), lease token (""
//	          for none), then the members touched, oldest touch first
var luaCommit = `
local member, key, data, size = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local version, read = ARGV[5], ARGV[6]
local maxEntries, maxBytes, maxListed = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local uri, budget, idle, ttl = ARGV[10], tonumber(ARGV[11]), ARGV[12], ARGV[13]
local lease = ARGV[14]
local maxEntrySize = ` + strconv.Itoa(maxEntrySize) + `
local keepEvery = ` + strconv.Itoa(keepEvery) + `
local removed, evicted = 0, 0
local function reply(status, sum, entries)
  return {status, evicted, sum or redis.call('HGET', KEYS[3], 'bytes') or '0', entries or 0}
end
` + luaCommitChecks + luaCommitRoom + `
local touched = false
for i = 15, #ARGV do
  if touch(ARGV[i], valueKey(ARGV[i]), idle, ttl) then touched = true end
end
if touched then keep(ttl) end
local status = stored()
if status then return reply(status) end
local count, sum, held, meta = counts()
if not sum then return reply('damaged') end
local emptied = count == 0
if uri ~= '' then
  status = trimIndex()
  if status then return reply(status) end
end
status = makeRoom(count, sum, held)
if status then return reply(status) end
if removed > 0 then
  emptied = true -- the shard's keys may have gone with the entries removed
  count, sum, held, meta = counts()
  if not sum then return reply('damaged') end
end
if uri ~= '' then list() end
redis.call('SET', KEYS[7], data, 'PX', idle)
local entries = count + redis.call('ZADD', KEYS[1], tick(), member)
redis.call('HSET', KEYS[2], member, ARGV[4])
recordVersion(member, version)
sum = sum - held + size
local changes = (tonumber(meta[2] or '0') or 0) + 1
local fields = {'bytes', string.format('%d', sum), 'version', string.format('%d', changes),
  'clock', string.format('%d', lastClock)}
local kept = tonumber(meta[4] or '')
if emptied or not kept or lastClock - kept >= keepEvery then
  table.insert(fields, 'kept')
  table.insert(fields, string.format('%d', lastClock))
  redis.call('HSET', KEYS[3], unpack(fields))
  keep(ttl)
else
  redis.call('HSET', KEYS[3], unpack(fields))
end
if lease ~= '' then release(KEYS[#KEYS - 1], KEYS[#KEYS], lease, member .. ' stored') end
return reply('stored', string.format('%d', sum), entries)
`

// luaCommitChecks are steps 1 to 3 of luaCommit: stored returns "conflict",
// "large" or "wrongtype" when the value must not be written, else nil;
// counts returns the shard's number of members, its sum (nil when it cannot
// be right), the size held under the key (0 for none) and the meta fields
// bytes, version, clock and kept; tick is clock for a script that writes
// the clock itself, once, at its end (lastClock).
const luaCommitChecks = `
local function current()
  local t = kind(KEYS[7])
  if t == 'none' then
    if redis.call('ZSCORE', KEYS[1], member) then forget(member) end
    return '0'
  end
  if t ~= 'string' then
    redis.call('UNLINK', KEYS[7])
    forget(member)
    return nil, true
  end
  local v = redis.call('HGET', KEYS[4], member)
  if v and not string.match(v, '^[1-9][0-9]*$') then v = nil end
  return v
end
local function stored()
  local v, wrong = current()
  if wrong then return 'wrongtype' end
  if v and v ~= read then return 'conflict' end
  if size > maxBytes then return 'large' end
  return nil
end
local knownClock = nil
local function counts()
  local meta = redis.call('HMGET', KEYS[3], 'bytes', 'version', 'clock', 'kept')
  knownClock = tonumber(meta[3] or '0') or 0
  local count = redis.call('ZCARD', KEYS[1])
  local sum = tonumber(meta[1] or '0')
  if not sum or sum ~= math.floor(sum) or sum < 0 or sum > count * maxEntrySize then
    return count, nil
  end
  local held = tonumber(redis.call('HGET', KEYS[2], member) or '0') or 0
  return count, sum, held, meta
end
local lastClock = nil
local function tick()
  if lastClock then
    lastClock = lastClock + 1
    return lastClock
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = knownClock or tonumber(redis.call('HGET', KEYS[3], 'clock') or '0') or 0
  if now <= last then now = last + 1 end
  lastClock = now
  return now
end
`

// luaCommitRoom are steps 4 to 6 of luaCommit: remove deletes a member's
// value and forgets it, within the budget; trimIndex and makeRoom return
// "again", "damaged" or "wrongtype" when the value cannot be written yet,
// else nil; list lists the key in its index and starts the index's TTL
// again (and that of the shard's listing hashes, when it lists a member
// anew: they may have been created by it).
const luaCommitRoom = `
local function remove(m)
  removed = removed + 1
  local vk = valueKey(m)
  local t = kind(vk)
  if t ~= 'none' then
    redis.call('UNLINK', vk)
    evicted = evicted + 1
  end
  forget(m)
  if t ~= 'none' and t ~= 'string' then return 'wrongtype' end
  return nil
end
local function trimIndex()
  local ix = indexKey(uri)
  if not sortedSet(ix) or redis.call('HGET', KEYS[6], member) == uri then return nil end
  for i = 1, redis.call('ZCARD', ix) + 1 - math.max(maxListed, 1) do
    if removed >= budget then return 'again' end
    local earliest = redis.call('ZRANGE', ix, 0, 0)[1]
    redis.call('ZREM', ix, earliest)
    if earliest ~= member then
      local status = remove(earliest)
      if status then return status end
    end
  end
  return nil
end
local function oldestOther()
  local two = redis.call('ZRANGE', KEYS[1], 0, 1)
  if two[1] ~= member then return two[1] end
  return two[2]
end
local function makeRoom(count, sum, held)
  local first = removed == 0
  while true do
    if not first then
      count, sum, held = counts()
      if not sum then return 'damaged' end
    end
    first = false
    local others = count
    if held > 0 then others = count - 1 end
    if others + 1 <= maxEntries and sum - held + size <= maxBytes then return nil end
    local victim = oldestOther()
    if not victim then return 'damaged' end
    if removed >= budget then return 'again' end
    local status = remove(victim)
    if status then return status end
  end
end
local function list()
  local ix = indexKey(uri)
  local now = redis.call('HGET', KEYS[6], member)
  if now ~= uri then
    if now then unlist(member) end
    redis.call('ZADD', ix, tick(), member)
    redis.call('HSET', KEYS[5], member, key)
    redis.call('HSET', KEYS[6], member, uri)
    redis.call('PEXPIRE', KEYS[5], ttl)
    redis.call('PEXPIRE', KEYS[6], ttl)
  end
  redis.call('PEXPIRE', ix, ttl)
end
`

// listedScript returns the full keys that an index lists, earliest listed
// first. An index of another type than a sorted set is deleted: it lists
// nothing.
//
//	KEYS[1] the index
//	KEYS[2] the shard's listed hash (member -> full key)
var listedScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'zset' then
  if t ~= 'none' then redis.call('UNLINK', KEYS[1]) end
  return {}
end
local keys = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = redis.call('HGET', KEYS[2], m)
  if key then table.insert(keys, key) end
end
return keys
`)

// writeBackScript writes a sum recounted from the sizes (Store.recount) into
// the meta, if no script changed the sum since the sizes were read: the
// version is still the one read with them ("" when there was none). It
// returns 1 when it wrote the sum, 0 when it did not. A meta that is gone
// needs no sum.
//
//	ARGV    the version read with the sizes, the sum of the sizes
var writeBackScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if (redis.call('HGET', KEYS[3], 'version') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[3], 'bytes', ARGV[2])
return 1
`)

// repairScript deletes the bookkeeping keys of a shard if one of them holds
// another type than the scripts keep there (a sorted set, then five
// hashes), which makes every script and Size fail: the shard starts again
// empty, and the values it counted stay, uncounted and unlisted, until
// their TTL; its indexes, listing members the shard no longer knows, are
// left to their TTL too. It returns 1 when it deleted them, 0 when their
// types were right.
var repairScript = redis.NewScript(`
local want = {'zset', 'hash', 'hash', 'hash', 'hash', 'hash'}
for i = 1, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= want[i] then
    redis.call('UNLINK', unpack(KEYS))
    return 1
  end
end
return 0
`)

// The scripts of the leases (lease.go). A key's lease is a string,
// "{prefix:i}:lease:" followed by its member, holding the token of its
// holder, with a TTL in milliseconds: it ends by itself when its holder
// neither renews nor releases it. Releasing compares the token, so that no
// holder releases another's lease, and publishes what became of the
// response on the shard's channel, "{prefix:i}:leases" (sharded pub/sub:
// in a Cluster, the node of the shard's slot carries it), as
// "<member> stored" or "<member> dropped". A lease key of another type than
// a string is nothing a script wrote: it is held by no token, and
// getOrLeaseScript deletes it.

// luaRelease is release, which deletes a lease if token holds it and
// publishes message on channel, returning 1, or returns 0. GET goes through
// pcall: a lease of another type must not fail a Commit halfway through
// its writes.
const luaRelease = `
local function release(lease, channel, token, message)
  if redis.pcall('GET', lease) ~= token then return 0 end
  redis.call('DEL', lease)
  redis.call('SPUBLISH', channel, message)
  return 1
end
`

// getOrLeaseScript returns a key's value or, when it has none, or only the
// one of the stale version the caller revalidates, takes the key's lease
// for a token, unless another token holds it, in one step: the value when
// there is one of another version (the GET's error when a key of another
// type stands in its place, as Get reports it), else 1 when the token holds
// the lease (taken now, or held already), 0 when another does. With "take"
// it skips the value, for a value that held another key's entry (a miss).
// A value whose version is not recorded is of another version.
//
//	KEYS[1] the entry's key
//	KEYS[2] the key's lease
//	KEYS[3] the shard's versions
//	ARGV    token, TTL (ms), "take" or "", the stale version ("0" for
//	        none), the entry's member
var getOrLeaseScript = redis.NewScript(`
if ARGV[3] ~= 'take' then
  local v = redis.pcall('GET', KEYS[1])
  if v and (ARGV[4] == '0' or redis.pcall('HGET', KEYS[3], ARGV[5]) ~= ARGV[4]) then return v end
end
local held = redis.pcall('GET', KEYS[2])
if type(held) == 'table' then
  redis.call('UNLINK', KEYS[2])
  held = false
end
if held == ARGV[1] then return 1 end
if held then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`)

// renewLeaseScript starts a lease's TTL again if the token holds it: 1 if
// so, else 0.
//
//	KEYS[1] the key's lease
//	ARGV    token, TTL (ms)
var renewLeaseScript = redis.NewScript(`
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// releaseLeaseScript releases a lease that the token holds, publishing
// "<member> dropped": the response will not be stored. It returns 1 if it
// released it, else 0.
//
//	KEYS[1] the key's lease
//	KEYS[2] the shard's channel
//	ARGV    token, message
var releaseLeaseScript = redis.NewScript(luaRelease + `
return release(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
`)
