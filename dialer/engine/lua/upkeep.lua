-- UPKEEP: what a campaign's feeder does every half second besides feeding.
-- 1. Leases that ran out: a QUEUED row whose message never ran goes back to PENDING (its old
--    token dies with it); a DIALING row whose worker vanished mid-request is UNKNOWN, because
--    the request may have left.
-- 2. Retries whose backoff is over go back to the head of their broker's queue.
-- 3. A running campaign with no row left to dial is DONE.
-- KEYS[1] meta  KEYS[2] state  KEYS[3] counts  KEYS[4] lease  KEYS[5] inflight
-- KEYS[6] result  KEYS[7] retry  KEYS[8] due  KEYS[9] wake  KEYS[10] running  KEYS[11] down
-- ARGV[1] queue_prefix  ARGV[2] limit (rows per step)  ARGV[3] campaign_id
-- Returns {rows swept, retries released, 1 if the campaign just finished, brokers down}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, result_key, retry_key, due_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local wake_key, running_key, down_key = KEYS[9], KEYS[10], KEYS[11]
local queue_prefix, limit, cid = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = now_ms()

local expired = redis.call('ZRANGEBYSCORE', lease_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(expired) do
  local broker, packed = split_member(member)
  local row = entry_row(packed)
  local st = split_state(redis.call('HGET', state_key, row))
  if st == State.QUEUED then
    requeue(state_key, counts_key, row, st, queue_prefix .. broker, packed)
  elseif st == State.DIALING then
    set_state(state_key, counts_key, row, st, State.UNKNOWN)
    patch_result(result_key, row, {error_code = 'Worker.Lost',
      error_message = 'the worker stopped while the request may have been in flight'})
  end
  redis.call('ZREM', lease_key, member)
  if st == State.QUEUED or st == State.DIALING then
    redis.call('HINCRBY', inflight_key, broker, -1)
    wake(due_key, wake_key, broker, now, now)
  end
end

local due = redis.call('ZRANGEBYSCORE', retry_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  local broker, packed = split_member(member)
  local row = entry_row(packed)
  if split_state(redis.call('HGET', state_key, row)) == State.RETRY_WAIT then
    requeue(state_key, counts_key, row, State.RETRY_WAIT, queue_prefix .. broker, packed)
    wake(due_key, wake_key, broker, now, now)
  end
  redis.call('ZREM', retry_key, member)
end

local done = 0
if redis.call('HGET', meta_key, 'status') == Status.RUNNING then
  local left = 0
  for _, s in ipairs(ACTIVE) do
    left = left + tonumber(redis.call('HGET', counts_key, s) or '0')
  end
  if left == 0 then
    redis.call('HSET', meta_key, 'status', Status.DONE, 'finished_at', now)
    redis.call('SREM', running_key, cid)
    done = 1
  end
end
return {#expired, #due, done, redis.call('HLEN', down_key)}
