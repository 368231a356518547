-- FEED: queue rows for every broker of the campaign whose due time has come (the feeder's
-- part; a finishing call feeds its own successor in FINISH). Brokers not due cost nothing.
-- KEYS[1]  meta      KEYS[2]  state     KEYS[3]  counts    KEYS[4]  lease
-- KEYS[5]  inflight  broker -> rows QUEUED or DIALING
-- KEYS[6]  down      KEYS[7]  capped    KEYS[8]  due       KEYS[9]  brokers (broker -> interval)
-- KEYS[10] account   the account-wide next free slot (DIALER_MAX_QPS)   KEYS[11] wake
-- KEYS[12] agents    the caller pool (agent -> free from)   KEYS[13] parked_callers
-- ARGV[1] depth  ARGV[2] lookahead_ms  ARGV[3] queued_lease_ms  ARGV[4] day_key (campaign zone)
-- ARGV[5] next_day_ms (when today's capped brokers may be fed again)
-- ARGV[6] account_interval_ms (0: no account cap)  ARGV[7] queue_prefix  ARGV[8] pace_prefix
-- ARGV[9] max_rows  ARGV[10] caller_prefix  ARGV[11] parked_prefix  ARGV[12] campaign_id
-- ARGV[13] caller pacing (1|0)  ARGV[14] caller concurrency
-- KEYS[14] retry     rows in RETRY_WAIT by due time
-- KEYS[15] callbacks rows in RETRY_WAIT for a callback, by due time (see release_callbacks)
-- KEYS[16] result
-- ARGV[15] presence_prefix  ARGV[16] sign_in (1|0)  ARGV[17] callback_grace_ms
-- First, rows whose retry or recycle is due go back to their queue's head (as UPKEEP does,
-- but FEED runs when the feeder is woken, so a recycled contact is not late by an upkeep
-- period); each parked caller who is free again gets their next row back at the head of its
-- broker queue. Returns {next_due_ms (-1: none), then broker, packed, token, slot_ms, caller
-- per row queued}.
local meta_key, inflight_key, due_key = KEYS[1], KEYS[5], KEYS[8]
local c = feed_context(
  {state = KEYS[2], counts = KEYS[3], lease = KEYS[4], down = KEYS[6], capped = KEYS[7],
   due = KEYS[8], brokers = KEYS[9], account = KEYS[10], wake = KEYS[11], agents = KEYS[12],
   parked_callers = KEYS[13]},
  {depth = ARGV[1], lookahead = ARGV[2], queued_lease = ARGV[3], day_key = ARGV[4],
   next_day = ARGV[5], account_interval = ARGV[6], queue_prefix = ARGV[7],
   pace_prefix = ARGV[8], caller_prefix = ARGV[10], parked_prefix = ARGV[11], cid = ARGV[12],
   pacing = ARGV[13], concurrency = ARGV[14], presence_prefix = ARGV[15], sign_in = ARGV[16]})
local max_rows = tonumber(ARGV[9])
local callback_grace = tonumber(ARGV[17])

-- Callbacks whose time has come (members "owner SEP broker SEP packed"; owner empty: anyone)
-- go to the head of their broker's queue when their owner is free, given to the owner; a
-- pool row's personal callback its owner has not taken within the grace goes to anyone, and
-- its result says so. A row that names its own caller is that caller's callback, always.
local function release_callbacks(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[15], '-inf', now, 'WITHSCORES', 'LIMIT', 0, MAX_SCAN)
  for i = 1, #due, 2 do
    local member, due_at = due[i], tonumber(due[i + 1])
    local owner, rest = split_member(member)
    local broker, packed = split_member(rest)
    local fields = entry_fields(packed)
    local row = fields[ENTRY.row]
    local taken = nil
    if split_state(redis.call('HGET', c.state, row)) ~= State.RETRY_WAIT then
      redis.call('ZREM', KEYS[15], member)
    elseif owner == '' or not c.pacing or not caller_busy(c, owner, now) then
      if fields[ENTRY.caller] == '' and owner ~= '' then
        fields[ENTRY.caller] = owner
        packed = table.concat(fields, SEP)
      end
      taken = 'taken'
    elseif fields[ENTRY.caller] == '' and now >= due_at + callback_grace then
      taken = 'expired'
    end
    if taken then
      redis.call('ZREM', KEYS[15], member)
      requeue(c.state, c.counts, row, State.RETRY_WAIT, c.queue_prefix .. broker, packed)
      wake(c.due, c.wake, broker, now)
      patch_result(KEYS[16], row, {callback_state = taken})
    end
  end
end

if redis.call('HGET', meta_key, 'status') ~= Status.RUNNING then return {-1} end
local now = now_ms()
release_retries(c.state, c.counts, KEYS[14], c.queue_prefix, due_key, c.wake, now, MAX_SCAN)
release_callbacks(now)
local out = {-1}
local rows = {}
local next_due = nil
for _, caller in ipairs(redis.call('SMEMBERS', c.parked_callers)) do
  if caller_busy(c, caller, now) then
    local free_at = caller_free_at(c, caller)
    if free_at and (not next_due or free_at < next_due) then next_due = free_at end
  else
    unpark(c, caller, now)
  end
end
for _, broker in ipairs(redis.call('ZRANGEBYSCORE', due_key, '-inf', now, 'LIMIT', 0, 256)) do
  if #rows / 5 >= max_rows then break end
  local inflight = tonumber(redis.call('HGET', inflight_key, broker) or '0')
  local fed = feed_broker(c, broker, now, inflight, max_rows - #rows / 5, rows, false)
  if fed > 0 then redis.call('HSET', inflight_key, broker, inflight + fed) end
end
local first = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
if first[2] and (not next_due or tonumber(first[2]) < next_due) then next_due = tonumber(first[2]) end
if next_due then out[1] = next_due end
for _, v in ipairs(rows) do table.insert(out, v) end
return out
