package rediscache

import "github.com/redis/go-redis/v9"

// The Lua scripts that change a shard: each runs atomically on the node that
// holds the shard, so that the recency order, the sizes and the byte count
// always agree with each other, whatever other processes do. Every script
// gets the shard's bookkeeping keys first:
//
//	KEYS[1] lru    sorted set: member -> recency score
//	KEYS[2] sizes  hash: member -> Entry.Size of its entry
//	KEYS[3] meta   hash: "bytes" -> sum of sizes, "clock" -> last score
//
// Members are the hashes of the cache keys (see Store.locate); an entry's
// value lives under the shard's entry prefix followed by its member.
// Numbers go to Redis through string.format("%d"), never tostring, which
// would round a score in microseconds to 14 digits.
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
local function forget(member)
  local size = redis.call('HGET', KEYS[2], member)
  if size then
    redis.call('HDEL', KEYS[2], member)
    redis.call('HINCRBY', KEYS[3], 'bytes', string.format('%d', -tonumber(size)))
  end
  redis.call('ZREM', KEYS[1], member)
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
redis.call('HINCRBY', KEYS[3], 'bytes', string.format('%d', tonumber(ARGV[3]) - old))
keep(ARGV[5])
return 1
`)

// popScript removes a member and its value, returning the value (nil when
// it expired or was never stored).
//
//	KEYS[4] the entry's key
//	ARGV    member
var popScript = redis.NewScript(luaCommon + `
local v = redis.call('GET', KEYS[4])
forget(ARGV[1])
if v then redis.call('DEL', KEYS[4]) end
return v
`)

// popOldestScript removes the oldest member and returns its value. Members
// whose value expired are the oldest ones, and are forgotten on the way; it
// returns nil when the shard is empty, and 0 when it only forgot expired
// members, to be run again (a script must not block Redis for long).
//
//	ARGV    the shard's entry key prefix
var popOldestScript = redis.NewScript(luaCommon + `
for i = 1, 100 do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #oldest == 0 then return false end
  local key = ARGV[1] .. oldest[1]
  local v = redis.call('GET', key)
  forget(oldest[1])
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
