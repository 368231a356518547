-- Shared helpers, prepended to every script after the generated tables (State, ACTIVE,
-- Refusal, Outcome, SEP, ENTRY: see dialer/engine/scripts.py `lua_tables`).
--
-- Row state lives in the campaign's state hash as "STATE" or "STATE|token" (QUEUED,
-- DIALING); a row missing from the hash is PENDING. The token is minted when the feeder
-- queues the row, so a stale or duplicated Celery message finds a different token and does
-- nothing. Every transition keeps the per-state counts hash in step.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function split_state(v)
  if not v then return State.PENDING, '' end
  local i = string.find(v, '|', 1, true)
  if not i then return v, '' end
  return string.sub(v, 1, i - 1), string.sub(v, i + 1)
end

local function set_state(state_key, counts_key, row, old, new, token)
  if new == State.PENDING then
    redis.call('HDEL', state_key, row)
  elseif token and token ~= '' then
    redis.call('HSET', state_key, row, new .. '|' .. token)
  else
    redis.call('HSET', state_key, row, new)
  end
  if old ~= new then
    redis.call('HINCRBY', counts_key, old, -1)
    redis.call('HINCRBY', counts_key, new, 1)
  end
end

local function patch_result(result_key, row, patch)
  local cur = redis.call('HGET', result_key, row)
  local obj = cur and cjson.decode(cur) or {}
  for k, v in pairs(patch) do obj[k] = v end
  redis.call('HSET', result_key, row, cjson.encode(obj))
  return obj
end

-- The packed dial entry (dialer/engine/codec.py): fields joined by SEP, in ENTRY order.
local function entry_fields(packed)
  local fields = {}
  for f in string.gmatch(packed .. SEP, '([^' .. SEP .. ']*)' .. SEP) do
    table.insert(fields, f)
  end
  return fields
end

local function entry_row(packed)
  return string.match(packed, '^(%d+)')
end

-- Lease, retry and reconcile sets hold rows as "broker SEP packed entry".
local function member_of(broker, packed)
  return broker .. SEP .. packed
end

local function split_member(member)
  local i = string.find(member, SEP, 1, true)
  return string.sub(member, 1, i - 1), string.sub(member, i + 1)
end

-- Tell the feeder a broker has work at `at` (epoch ms): its due score only moves earlier,
-- and a feeder blocked on the campaign's wake list returns at once when it is due now.
local function wake(due_key, wake_key, broker, at, now)
  redis.call('ZADD', due_key, 'LT', at, broker)
  if at <= now and redis.call('LLEN', wake_key) == 0 then
    redis.call('RPUSH', wake_key, '1')
  end
end

-- A row that must be dialled again goes back to the head of its broker's queue: a PENDING
-- row is always in exactly one queue.
local function requeue(state_key, counts_key, row, old, queue, packed)
  set_state(state_key, counts_key, row, old, State.PENDING)
  redis.call('LPUSH', queue, packed)
end

-- Counters that expire: set the expiry once, when the counter is created.
local function count(key, ttl_s)
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ttl_s) end
end
