"""Lua scripts for campaign upkeep: leases that ran out, due retries, down brokers,
cancelling, completion, call-record bookkeeping. Row transitions are in dialer.scripts."""

from __future__ import annotations

from dialer.scripts import PRELUDE as _PRELUDE

# KEYS: state counts lease inflight result   ARGV: queue_key_prefix limit
# Leases that ran out: a QUEUED row whose message never ran goes back to PENDING (its old
# token dies with it); a DIALING row whose worker vanished mid-request is UNKNOWN, because
# the request may have left. -> number of rows swept
SWEEP = (
    _PRELUDE
    + r"""
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(expired) do
  local broker, packed = split_member(member)
  local row = row_of(packed)
  local st = split_state(redis.call('HGET', KEYS[1], row))
  if st == 'QUEUED' then
    requeue(KEYS[1], KEYS[2], row, 'QUEUED', ARGV[1] .. broker, packed)
  elseif st == 'DIALING' then
    set_state(KEYS[1], KEYS[2], row, 'DIALING', 'UNKNOWN')
    patch_result(KEYS[5], row, {error_code = 'Worker.Lost',
      error_message = 'the worker stopped while the request may have been in flight'})
  end
  redis.call('ZREM', KEYS[3], member)
  if st == 'QUEUED' or st == 'DIALING' then redis.call('HINCRBY', KEYS[4], broker, -1) end
end
return #expired
"""
)

# KEYS: state counts retry   ARGV: queue_key_prefix limit
# Retries whose backoff is over go back to the head of their broker's queue.
RETRIES_DUE = (
    _PRELUDE
    + r"""
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local broker, packed = split_member(member)
  local row = row_of(packed)
  if split_state(redis.call('HGET', KEYS[1], row)) == 'RETRY_WAIT' then
    requeue(KEYS[1], KEYS[2], row, 'RETRY_WAIT', ARGV[1] .. broker, packed)
  end
  redis.call('ZREM', KEYS[3], member)
end
return #due
"""
)

# KEYS: state counts result source_queue   ARGV: queue_key_prefix limit reason live brokers...
# Drain a down broker's queue: rows the pool assigned move to live pool brokers, round
# robin; rows that named this broker themselves fail. -> rows handled
REDISTRIBUTE = (
    _PRELUDE
    + r"""
local live = {}
for i = 4, #ARGV do table.insert(live, ARGV[i]) end
local n = 0
for _ = 1, tonumber(ARGV[2]) do
  local packed = redis.call('LPOP', KEYS[4])
  if not packed then break end
  n = n + 1
  local row = row_of(packed)
  local fields = {}
  for f in string.gmatch(packed .. SEP, '([^' .. SEP .. ']*)' .. SEP) do table.insert(fields, f) end
  if fields[6] == '1' and #live > 0 then
    redis.call('RPUSH', ARGV[1] .. live[(n % #live) + 1], packed)
  else
    set_state(KEYS[1], KEYS[2], row, 'PENDING', 'FAILED')
    patch_result(KEYS[3], row, {error_code = 'NotExists.Number', error_message = ARGV[3]})
  end
end
return n
"""
)

# KEYS: state counts queue_or_retry   ARGV: kind(list|zset) limit
# Cancel waiting rows of one queue (or the retry set). -> rows cancelled
CANCEL_WAITING = (
    _PRELUDE
    + r"""
local limit = tonumber(ARGV[2])
local items
if ARGV[1] == 'list' then
  items = redis.call('LPOP', KEYS[3], limit) or {}
else
  items = redis.call('ZPOPMIN', KEYS[3], limit)
end
local n = 0
local step = ARGV[1] == 'list' and 1 or 2
for i = 1, #items, step do
  local member = items[i]
  local packed = member
  if ARGV[1] ~= 'list' then packed = select(2, split_member(member)) end
  local row = row_of(packed)
  local st = split_state(redis.call('HGET', KEYS[1], row))
  if st == 'PENDING' or st == 'RETRY_WAIT' then
    set_state(KEYS[1], KEYS[2], row, st, 'CANCELLED')
    n = n + 1
  end
end
return n
"""
)

# KEYS: state counts lease inflight
# Cancel rows handed to workers but not yet dialling: their messages will find the row
# CANCELLED and do nothing. DIALING rows are left to finish. -> rows cancelled
CANCEL_QUEUED = (
    _PRELUDE
    + r"""
local n = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local broker, packed = split_member(member)
  local row = row_of(packed)
  if split_state(redis.call('HGET', KEYS[1], row)) == 'QUEUED' then
    set_state(KEYS[1], KEYS[2], row, 'QUEUED', 'CANCELLED')
    redis.call('ZREM', KEYS[3], member)
    redis.call('HINCRBY', KEYS[4], broker, -1)
    n = n + 1
  end
end
return n
"""
)

# KEYS: meta counts   -> 1 if the campaign just finished
COMPLETE_IF_DONE = r"""
if redis.call('HGET', KEYS[1], 'status') ~= 'RUNNING' then return 0 end
for _, s in ipairs({'PENDING', 'QUEUED', 'DIALING', 'RETRY_WAIT'}) do
  if tonumber(redis.call('HGET', KEYS[2], s) or '0') > 0 then return 0 end
end
redis.call('HSET', KEYS[1], 'status', 'DONE', 'finished_at', redis.call('TIME')[1])
return 1
"""

# KEYS: result   ARGV: row patch_json   Merge fields into a row's outcome record.
PATCH_RESULT = (
    _PRELUDE
    + r"""
patch_result(KEYS[1], ARGV[1], cjson.decode(ARGV[2]))
return 1
"""
)

# KEYS: meta state counts result cdr_due queue running
# ARGV: row found(1|0) patch_json cdr_wait_ms campaign_id packed_entry
# An UNKNOWN row settled by the call records: found -> DISPATCHED (its record fetched
# later); certainly absent -> PENDING at the head of its queue, a fresh attempt (and the
# campaign runs again if it had finished). -> 1 applied, 0 the row was no longer UNKNOWN
RECONCILE = (
    _PRELUDE
    + r"""
local row = ARGV[1]
if split_state(redis.call('HGET', KEYS[2], row)) ~= 'UNKNOWN' then return 0 end
local patch = cjson.decode(ARGV[3])
patch_result(KEYS[4], row, patch)
if ARGV[2] == '1' then
  set_state(KEYS[2], KEYS[3], row, 'UNKNOWN', 'DISPATCHED')
  if tonumber(ARGV[4]) >= 0 then redis.call('ZADD', KEYS[5], now_ms() + tonumber(ARGV[4]), row) end
else
  requeue(KEYS[2], KEYS[3], row, 'UNKNOWN', KEYS[6], ARGV[6])
  if redis.call('HGET', KEYS[1], 'status') == 'DONE' then
    redis.call('HSET', KEYS[1], 'status', 'RUNNING')
    redis.call('SADD', KEYS[7], ARGV[5])
  end
end
return 1
"""
)

# KEYS: meta   ARGV: allowed current statuses (csv) new status reason -> 1 changed, 0 not
SET_STATUS = r"""
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return -1 end
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then
    redis.call('HSET', KEYS[1], 'status', ARGV[2], 'pause_reason', ARGV[3])
    return 1
  end
end
return 0
"""

# KEYS: account_pace   ARGV: interval_ms
# Take an account-budget slot only if the budget is idle now (no call has reserved ahead),
# so background requests use slack and never push a call's slot back. -> 1 taken, 0 not
TAKE_IDLE_SLOT = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(redis.call('GET', KEYS[1]) or '0') > now then return 0 end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], now + interval, 'PX', math.ceil(interval) + 60000)
return 1
"""

# KEYS: records cdr_due reconcile   ARGV: campaign_id
# Stop polling a campaign only if nothing is due: checked and removed in one step, so a row
# FINISH adds meanwhile is never orphaned. -> 1 removed
FORGET_IF_SETTLED = r"""
if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then return 0 end
return redis.call('SREM', KEYS[1], ARGV[1])
"""

# KEYS: lease   ARGV: owner ttl_ms   -> 1 if `owner` holds the lease now
ACQUIRE_LEASE = r"""
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
