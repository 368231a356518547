-- FINISH: record the fate of a DIALING row. A call that certainly never left (every outcome
-- but DISPATCHED and UNKNOWN) hands back what BEGIN_DIAL counted against the caps.
-- KEYS[1]  meta          KEYS[2]  state        KEYS[3]  counts       KEYS[4]  lease
-- KEYS[5]  inflight      KEYS[6]  queue        KEYS[7]  result       KEYS[8]  retry
-- KEYS[9]  dialed        (n:BROKER, first:BROKER, last:BROKER)       KEYS[10] down
-- KEYS[11] callee_day    KEYS[12] callee_month KEYS[13] broker_day   KEYS[14] pair guard
-- KEYS[15] records       (campaigns with call records to fetch)      KEYS[16] cdr_due
-- KEYS[17] reconcile     KEYS[18] due          KEYS[19] wake         KEYS[20] running
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed  ARGV[5] outcome (Outcome.*)
-- ARGV[6] patch_json   ARGV[7] retry_delay_ms   ARGV[8] reason   ARGV[9] campaign_id
-- ARGV[10] cdr_wait_ms   ARGV[11] reconcile_wait_ms   (-1: no call records for this campaign)
-- Returns 1 applied; 0 the row was not DIALING with this token (nothing changed).
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, queue_key, result_key, retry_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local dialed_key, down_key = KEYS[9], KEYS[10]
local cap_keys = {KEYS[11], KEYS[12], KEYS[13]}
local pair_key, records_key, cdr_key, reconcile_key = KEYS[14], KEYS[15], KEYS[16], KEYS[17]
local due_key, wake_key, running_key = KEYS[18], KEYS[19], KEYS[20]
local row, token, broker, packed, outcome = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local retry_delay, reason, cid = tonumber(ARGV[7]), ARGV[8], ARGV[9]
local cdr_wait, reconcile_wait = tonumber(ARGV[10]), tonumber(ARGV[11])
local member = member_of(broker, packed)

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.DIALING or tok ~= token then return 0 end
local now = now_ms()
local patch = cjson.decode(ARGV[6])
if outcome == Outcome.DISPATCHED then patch['dispatched_at'] = now end
patch_result(result_key, row, patch)
if outcome ~= Outcome.DISPATCHED and outcome ~= Outcome.UNKNOWN then
  for _, k in ipairs(cap_keys) do
    if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
  end
  redis.call('DEL', pair_key)
end
redis.call('ZREM', lease_key, member)
redis.call('HINCRBY', inflight_key, broker, -1)
if outcome == Outcome.RETRY_WAIT then
  set_state(state_key, counts_key, row, State.DIALING, State.RETRY_WAIT)
  redis.call('ZADD', retry_key, now + retry_delay, member)
elseif outcome == Outcome.BROKER_DOWN or outcome == Outcome.CAMPAIGN_FATAL then
  -- the call was refused, not placed: the row waits at the head of its queue
  requeue(state_key, counts_key, row, State.DIALING, queue_key, packed)
  if outcome == Outcome.BROKER_DOWN then
    redis.call('HSETNX', down_key, broker, reason)
  elseif redis.call('HGET', meta_key, 'status') == Status.RUNNING then
    redis.call('HSET', meta_key, 'status', Status.PAUSED, 'pause_reason', reason)
    redis.call('SREM', running_key, cid)
  end
else
  set_state(state_key, counts_key, row, State.DIALING, outcome)
end
if outcome ~= Outcome.BROKER_DOWN then wake(due_key, wake_key, broker, now, now) end
if outcome == Outcome.DISPATCHED and cdr_wait >= 0 then
  redis.call('ZADD', cdr_key, now + cdr_wait, row)
  redis.call('SADD', records_key, cid)
elseif outcome == Outcome.UNKNOWN and reconcile_wait >= 0 then
  redis.call('ZADD', reconcile_key, now + reconcile_wait, member)
  redis.call('SADD', records_key, cid)
end
if outcome == Outcome.DISPATCHED then
  if redis.call('HINCRBY', dialed_key, 'n:' .. broker, 1) == 1 then
    redis.call('HSET', dialed_key, 'first:' .. broker, now)
  end
  redis.call('HSET', dialed_key, 'last:' .. broker, now)
end
return 1
