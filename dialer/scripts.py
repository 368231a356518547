"""The Lua scripts behind every row transition. Redis runs each atomically, on its own clock.

Row state lives in the campaign's state hash as "STATE" or "STATE|token" (QUEUED, DIALING);
a row missing from the hash is PENDING. The token is minted when the feeder queues the row,
so a stale or duplicated Celery message (redelivery, a sweep that re-queued the row) finds a
different token and does nothing. Every script keeps the per-state counts hash in step.
This module holds the row transitions; campaign upkeep is in dialer.scripts_upkeep.
"""

from __future__ import annotations

PRELUDE = r"""
local SEP = '\31'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function split_state(v)
  if not v then return 'PENDING', '' end
  local i = string.find(v, '|', 1, true)
  if not i then return v, '' end
  return string.sub(v, 1, i - 1), string.sub(v, i + 1)
end
local function set_state(state_key, counts_key, row, old, new, token)
  if new == 'PENDING' then
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
-- A row that must be dialled again goes back to the head of its broker's queue: a PENDING
-- row is always in exactly one queue.
local function requeue(state_key, counts_key, row, old, queue, packed)
  set_state(state_key, counts_key, row, old, 'PENDING')
  redis.call('LPUSH', queue, packed)
end
local function patch_result(result_key, row, patch)
  local cur = redis.call('HGET', result_key, row)
  local obj = cur and cjson.decode(cur) or {}
  for k, v in pairs(patch) do obj[k] = v end
  redis.call('HSET', result_key, row, cjson.encode(obj))
  return obj
end
local function row_of(packed)
  return string.match(packed, '^(%d+)')
end
-- "broker SEP packed entry", as lease, retry and reconcile sets hold rows
local function split_member(member)
  local i = string.find(member, SEP, 1, true)
  return string.sub(member, 1, i - 1), string.sub(member, i + 1)
end
"""

# Shared by reserve and begin_dial: a queued row whose campaign stopped running goes back to
# the head of its broker queue (or to CANCELLED) and frees its in-flight place.
# KEYS: meta state counts lease inflight queue
_GIVE_BACK = r"""
local function give_back(status, row, broker, packed)
  if status == 'CANCELLED' then
    set_state(KEYS[2], KEYS[3], row, 'QUEUED', 'CANCELLED')
  else
    requeue(KEYS[2], KEYS[3], row, 'QUEUED', KEYS[6], packed)
  end
  redis.call('ZREM', KEYS[4], broker .. SEP .. packed)
  redis.call('HINCRBY', KEYS[5], broker, -1)
end
"""

# KEYS: meta state counts lease inflight down capped, then (queue, pace) per broker
# ARGV: depth lookahead_ms queued_lease_ms day_key, then broker numbers
# -> flat list of broker, packed entry, token for every row moved PENDING -> QUEUED
FEED = (
    PRELUDE
    + r"""
if redis.call('HGET', KEYS[1], 'status') ~= 'RUNNING' then return {} end
local depth = tonumber(ARGV[1])
local lookahead = tonumber(ARGV[2])
local qlease = tonumber(ARGV[3])
local now = now_ms()
local out = {}
for i = 5, #ARGV do
  local broker = ARGV[i]
  local queue = KEYS[8 + 2 * (i - 5)]
  local pace = KEYS[9 + 2 * (i - 5)]
  local usable = redis.call('HEXISTS', KEYS[6], broker) == 0
    and redis.call('HGET', KEYS[7], broker) ~= ARGV[4]
  if usable then
    local inflight = tonumber(redis.call('HGET', KEYS[5], broker) or '0')
    local tat = tonumber(redis.call('GET', pace) or '0')
    while inflight < depth and tat - now <= lookahead do
      local packed = redis.call('LPOP', queue)
      if not packed then break end
      local row = row_of(packed)
      local st = split_state(redis.call('HGET', KEYS[2], row))
      if st == 'PENDING' then
        local token = tostring(redis.call('HINCRBY', KEYS[1], 'token', 1))
        set_state(KEYS[2], KEYS[3], row, 'PENDING', 'QUEUED', token)
        redis.call('ZADD', KEYS[4], now + qlease, broker .. SEP .. packed)
        inflight = redis.call('HINCRBY', KEYS[5], broker, 1)
        table.insert(out, broker)
        table.insert(out, packed)
        table.insert(out, token)
      end
    end
  end
end
return out
"""
)

# KEYS: meta state counts lease inflight queue pace account_pace
# ARGV: row token broker packed interval_ms account_interval_ms max_wait_ms
# -> ms to wait for the reserved slot; -1 stale message; -2 campaign not running (given
#    back); -3 no slot within max_wait (given back)
RESERVE = (
    PRELUDE
    + _GIVE_BACK
    + r"""
local row, token, broker, packed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local st, tok = split_state(redis.call('HGET', KEYS[2], row))
if st ~= 'QUEUED' or tok ~= token then return -1 end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'RUNNING' then give_back(status, row, broker, packed) return -2 end
local interval = tonumber(ARGV[5])
local account = tonumber(ARGV[6])
local now = now_ms()
local slot = math.max(now, tonumber(redis.call('GET', KEYS[7]) or '0'))
if account > 0 then slot = math.max(slot, tonumber(redis.call('GET', KEYS[8]) or '0')) end
if slot - now > tonumber(ARGV[7]) then give_back(status, row, broker, packed) return -3 end
redis.call('SET', KEYS[7], slot + interval, 'PX', math.ceil(slot + interval - now) + 60000)
if account > 0 then
  redis.call('SET', KEYS[8], slot + account, 'PX', math.ceil(slot + account - now) + 60000)
end
return slot - now
"""
)

# KEYS: meta state counts lease inflight queue result last_dial callee_day callee_month
#       broker_day pair retry capped last_account_dial
# ARGV: row token broker packed dialing_lease_ms interval_ms daily_cap monthly_cap broker_cap
#       pair_guard_ms next_day_ms day_key account_interval_ms (0 = no account cap)
# -> {attempt} (row is now DIALING); {-1} stale; {-2} campaign not running (given back);
#    {-4, ms} too soon after the broker's previous call really began: wait and ask again;
#    {-5} callee's monthly cap: FAILED; {-6} callee's daily cap: waits for tomorrow;
#    {-7} pair called moments ago: waits out the guard; {-8} broker's daily cap: given back.
# The reserved slots are interval apart, but a call that began late would otherwise land
# closer than interval to the next one; the last real start time closes that gap. Caps are
# counted here, when the call begins, and handed back by FINISH if it certainly never left.
BEGIN_DIAL = (
    PRELUDE
    + _GIVE_BACK
    + r"""
local row, token, broker, packed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local member = broker .. SEP .. packed
local st, tok = split_state(redis.call('HGET', KEYS[2], row))
if st ~= 'QUEUED' or tok ~= token then return {-1} end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'RUNNING' then give_back(status, row, broker, packed) return {-2} end
local now = now_ms()
local function release()
  redis.call('ZREM', KEYS[4], member)
  redis.call('HINCRBY', KEYS[5], broker, -1)
end
local function park(due, code, message)
  set_state(KEYS[2], KEYS[3], row, 'QUEUED', 'RETRY_WAIT')
  redis.call('ZADD', KEYS[13], due, member)
  release()
  patch_result(KEYS[7], row, {error_code = code, error_message = message})
end
local daily, monthly, broker_cap = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
if monthly > 0 and tonumber(redis.call('GET', KEYS[10]) or '0') >= monthly then
  set_state(KEYS[2], KEYS[3], row, 'QUEUED', 'FAILED')
  release()
  patch_result(KEYS[7], row, {error_code = 'Cap.Callee',
    error_message = 'the callee has had ' .. monthly .. ' calls this month'})
  return {-5}
end
if daily > 0 and tonumber(redis.call('GET', KEYS[9]) or '0') >= daily then
  park(tonumber(ARGV[11]), 'Cap.Callee', 'the callee has had ' .. daily .. ' calls today')
  return {-6}
end
local guard = redis.call('PTTL', KEYS[12])
if guard > 0 then
  park(now + guard, 'Cap.PairGuard', 'this caller and callee were connected moments ago')
  return {-7}
end
if broker_cap > 0 and tonumber(redis.call('GET', KEYS[11]) or '0') >= broker_cap then
  give_back(status, row, broker, packed)
  redis.call('HSET', KEYS[14], broker, ARGV[12])
  return {-8}
end
local interval = tonumber(ARGV[6])
local last = tonumber(redis.call('GET', KEYS[8]) or '0')
if now < last + interval then return {-4, math.ceil(last + interval - now)} end
local account = tonumber(ARGV[13])
if account > 0 then
  local account_last = tonumber(redis.call('GET', KEYS[15]) or '0')
  if now < account_last + account then return {-4, math.ceil(account_last + account - now)} end
  redis.call('SET', KEYS[15], now, 'PX', math.ceil(account) + 60000)
end
redis.call('SET', KEYS[8], now, 'PX', math.ceil(interval) + 60000)
for _, k in ipairs({KEYS[9], KEYS[11]}) do
  redis.call('INCR', k)
  redis.call('EXPIRE', k, 2 * 86400)
end
redis.call('INCR', KEYS[10])
redis.call('EXPIRE', KEYS[10], 32 * 86400)
if tonumber(ARGV[10]) > 0 then redis.call('SET', KEYS[12], '1', 'PX', ARGV[10]) end
set_state(KEYS[2], KEYS[3], row, 'QUEUED', 'DIALING', token)
redis.call('ZADD', KEYS[4], 'XX', now + tonumber(ARGV[5]), member)
local cur = redis.call('HGET', KEYS[7], row)
local obj = cur and cjson.decode(cur) or {}
local attempts = (tonumber(obj['attempts']) or 0) + 1
local patch = {attempts = attempts, broker = broker, last_attempt_at = now}
if not obj['first_attempt_at'] then patch['first_attempt_at'] = now end
patch_result(KEYS[7], row, patch)
return {attempts}
"""
)

# KEYS: meta state counts lease inflight queue result retry dialed down
#       callee_day callee_month broker_day pair records cdr_due reconcile
# ARGV: row token broker packed outcome patch_json retry_delay_ms reason campaign_id
#       cdr_wait_ms reconcile_wait_ms (-1 = no call records for this campaign)
# A call that certainly never left (every outcome but DISPATCHED and UNKNOWN) hands back what
# BEGIN_DIAL counted against the caps.
# outcome: DISPATCHED FAILED UNKNOWN RETRY_WAIT BROKER_DOWN CAMPAIGN_FATAL
# -> 1 applied; 0 the row was not DIALING with this token (nothing changed)
FINISH = (
    PRELUDE
    + r"""
local row, token, broker, packed, outcome = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local st, tok = split_state(redis.call('HGET', KEYS[2], row))
if st ~= 'DIALING' or tok ~= token then return 0 end
local now = now_ms()
local patch = cjson.decode(ARGV[6])
if outcome == 'DISPATCHED' then patch['dispatched_at'] = now end
patch_result(KEYS[7], row, patch)
if outcome ~= 'DISPATCHED' and outcome ~= 'UNKNOWN' then
  for _, k in ipairs({KEYS[11], KEYS[12], KEYS[13]}) do
    if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
  end
  redis.call('DEL', KEYS[14])
end
redis.call('ZREM', KEYS[4], broker .. SEP .. packed)
redis.call('HINCRBY', KEYS[5], broker, -1)
if outcome == 'RETRY_WAIT' then
  set_state(KEYS[2], KEYS[3], row, 'DIALING', 'RETRY_WAIT')
  redis.call('ZADD', KEYS[8], now + tonumber(ARGV[7]), broker .. SEP .. packed)
elseif outcome == 'BROKER_DOWN' or outcome == 'CAMPAIGN_FATAL' then
  -- the call was refused, not placed: the row waits at the head of its queue
  requeue(KEYS[2], KEYS[3], row, 'DIALING', KEYS[6], packed)
  if outcome == 'BROKER_DOWN' then
    redis.call('HSETNX', KEYS[10], broker, ARGV[8])
  elseif redis.call('HGET', KEYS[1], 'status') == 'RUNNING' then
    redis.call('HSET', KEYS[1], 'status', 'PAUSED', 'pause_reason', ARGV[8])
  end
else
  set_state(KEYS[2], KEYS[3], row, 'DIALING', outcome)
end
if outcome == 'DISPATCHED' and tonumber(ARGV[10]) >= 0 then
  redis.call('ZADD', KEYS[16], now + tonumber(ARGV[10]), row)
  redis.call('SADD', KEYS[15], ARGV[9])
elseif outcome == 'UNKNOWN' and tonumber(ARGV[11]) >= 0 then
  redis.call('ZADD', KEYS[17], now + tonumber(ARGV[11]), broker .. SEP .. packed)
  redis.call('SADD', KEYS[15], ARGV[9])
end
if outcome == 'DISPATCHED' then
  redis.call('HINCRBY', KEYS[9], 'n:' .. broker, 1)
  redis.call('HSETNX', KEYS[9], 'first:' .. broker, now)
  redis.call('HSET', KEYS[9], 'last:' .. broker, now)
end
return 1
"""
)
