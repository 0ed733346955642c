package rediscache

import "github.com/redis/go-redis/v9"

// The Lua scripts that change a shard: each runs atomically on the node that
// holds the shard, so that the recency order, the sizes and the byte count
// always agree with each other, whatever other processes do. Every script
// gets the shard's bookkeeping keys first:
//
//	KEYS[1] lru    sorted set: member -> recency score
//	KEYS[2] sizes  hash: member -> Entry.Size of its entry
//	KEYS[3] meta   hash: "bytes" -> sum of sizes, "clock" -> last score,
//	               "version" -> number of changes to "bytes"
//
// Members are the hashes of the cache keys (see Store.locate); an entry's
// value lives under the shard's entry prefix followed by its member.
// Numbers go to Redis through string.format("%d"), never tostring, which
// would round a score in microseconds to 14 digits.
//
// Every change to the sum goes through add, which counts it in "version":
// a recount made from Go (heal.go) is written back only if the version is
// the one it read with the sizes. A sum that HINCRBY cannot add to (not an
// integer, or at the end of its range) becomes -1, which no shard can hold,
// so that Size recounts it. value reads an entry's value, and deletes a key
// of another type than a string found in its place: nothing the Store
// wrote, and a key that every GET would refuse for good.
const luaCommon = `
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
local function forget(member)
  local size = redis.call('HGET', KEYS[2], member)
  if size then
    redis.call('HDEL', KEYS[2], member)
    add(-tonumber(size))
  end
  redis.call('ZREM', KEYS[1], member)
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
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
`

// setScript stores a value as the newest entry, replacing any other under
// its member, and corrects the byte count by the difference.
//
//	KEYS[4] the entry's key
//	ARGV    member, value, size, idle TTL (ms), bookkeeping TTL (ms)
var setScript = redis.NewScript(luaCommon + `
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[4])
redis.call('ZADD', KEYS[1], clock(), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
add(tonumber(ARGV[3]) - old)
keep(ARGV[5])
return 1
`)

// popScript removes a member and its value, returning the value (nil when
// it expired or was never stored, and 1 when a key of another type stood in
// its place, now deleted).
//
//	KEYS[4] the entry's key
//	ARGV    member
var popScript = redis.NewScript(luaCommon + `
local v = value(KEYS[4])
forget(ARGV[1])
if v == true then return 1 end
if v then redis.call('DEL', KEYS[4]) end
return v
`)

// popOldestScript removes the oldest member and returns its value. Members
// whose value expired are the oldest ones, and are forgotten on the way; it
// returns nil when the shard is empty, 0 when it only forgot expired
// members, to be run again (a script must not block Redis for long), and 1
// when it removed a key of another type in place of the oldest value.
//
//	ARGV    the shard's entry key prefix
var popOldestScript = redis.NewScript(luaCommon + `
for i = 1, 100 do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #oldest == 0 then return false end
  local key = ARGV[1] .. oldest[1]
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
// forgotten.
//
//	KEYS[4..] the entries' keys, one per member
//	ARGV      idle TTL (ms), bookkeeping TTL (ms), then the members
var touchScript = redis.NewScript(luaCommon + `
local touched = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], member) then
    if redis.call('PEXPIRE', KEYS[i + 1], ARGV[1]) == 0 then
      forget(member)
    else
      redis.call('ZADD', KEYS[1], 'XX', clock(), member)
      touched = touched + 1
    end
  end
end
if touched > 0 then keep(ARGV[2]) end
return touched
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
// another type than the scripts keep there (a sorted set, then two hashes),
// which makes every script and Size fail: the shard starts again empty, and
// the values it counted stay, uncounted, until their TTL. It returns 1 when
// it deleted them, 0 when their types were right.
var repairScript = redis.NewScript(`
local want = {'zset', 'hash', 'hash'}
for i = 1, 3 do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= want[i] then
    redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3])
    return 1
  end
end
return 0
`)
