-- UPKEEP: what a campaign's feeder does every half second besides feeding.
-- 1. Leases that ran out: a QUEUED row whose message never ran goes back to PENDING (its old
--    token dies with it); a DIALING row whose worker vanished mid-request is UNKNOWN, because
--    the request may have left.
-- 2. Retries whose backoff is over go back to the head of their broker's queue.
-- 3. A running campaign with no row left to dial is DONE.
-- KEYS[1] meta  KEYS[2] state  KEYS[3] counts  KEYS[4] lease  KEYS[5] inflight
-- KEYS[6] result  KEYS[7] retry  KEYS[8] due  KEYS[9] wake  KEYS[10] running  KEYS[11] down
-- KEYS[12] records  KEYS[13] reconcile  KEYS[14] cdr_due
-- ARGV[1] queue_prefix  ARGV[2] limit (rows per step)  ARGV[3] campaign_id
-- ARGV[4] dialing_lease_ms (a DIALING row's lease ran out this long after its call began)
-- ARGV[5] reconcile_wait_ms (-1: no call records): when an UNKNOWN row's call is looked for
-- ARGV[6] tries_again (1: a call record may send a row round again; see complete_if_done)
-- Returns {rows swept, retries released, 1 if the campaign just finished, brokers down,
-- epoch ms the next lease runs out or retry falls due (-1: none)}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, result_key, retry_key, due_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local wake_key, running_key, down_key = KEYS[9], KEYS[10], KEYS[11]
local queue_prefix, limit, cid = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local dialing_lease, reconcile_wait = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()

local expired = redis.call('ZRANGEBYSCORE', lease_key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #expired, 2 do
  local member = expired[i]
  local broker, packed = split_member(member)
  local row = entry_row(packed)
  local st = split_state(redis.call('HGET', state_key, row))
  if st == State.QUEUED then
    requeue(state_key, counts_key, row, st, queue_prefix .. broker, packed)
  elseif st == State.DIALING then
    set_state(state_key, counts_key, row, st, State.UNKNOWN)
    -- The attempt FINISH would have recorded.
    local begun_at = tonumber(expired[i + 1]) - dialing_lease
    local obj = patch_result(result_key, row, {error_code = 'Worker.Lost', broker = broker,
      error_message = 'the worker stopped while the request may have been in flight',
      last_attempt_at = begun_at})
    if not obj['first_attempt_at'] then obj['first_attempt_at'] = begun_at end
    obj['attempts'] = (tonumber(obj['attempts']) or 0) + 1
    redis.call('HSET', result_key, row, cjson.encode(obj))
    emit_attempt(row, Outcome.UNKNOWN, obj, true)
    if reconcile_wait >= 0 then  -- the call may have been placed: look for it
      redis.call('ZADD', KEYS[13], now + reconcile_wait, member)
      redis.call('SADD', KEYS[12], cid)
    end
  end
  redis.call('ZREM', lease_key, member)
  if st == State.QUEUED or st == State.DIALING then
    redis.call('HINCRBY', inflight_key, broker, -1)
    wake(due_key, wake_key, broker, now)
  end
end

local released = release_retries(state_key, counts_key, retry_key, queue_prefix, due_key,
                                 wake_key, now, limit)

local done = 0
local awaited = ARGV[6] == '1' and KEYS[14] or nil
if complete_if_done(meta_key, counts_key, running_key, cid, now, awaited) then done = 1 end
local next_due = -1
for _, key in ipairs({lease_key, retry_key}) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] and (next_due < 0 or tonumber(first[2]) < next_due) then
    next_due = tonumber(first[2])
  end
end
return {#expired / 2, released, done, redis.call('HLEN', down_key), next_due}
