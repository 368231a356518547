-- FINISH: record the fate of a DIALING row and the attempt, then feed the broker's next row
-- into the place in flight this one leaves (so a campaign in full flow needs no feeder).
-- A call that certainly never left (every outcome but DISPATCHED and UNKNOWN) hands back
-- what BEGIN_DIAL counted against the caps; a request refused before anything was placed
-- (NOT_PLACED, BROKER_DOWN, CAMPAIGN_FATAL) is not counted as an attempt, and NOT_PLACED
-- waits its backoff in RETRY_WAIT however many attempts the row has used.
-- KEYS[1]  meta          KEYS[2]  state        KEYS[3]  counts       KEYS[4]  lease
-- KEYS[5]  inflight      KEYS[6]  queue        KEYS[7]  result       KEYS[8]  retry
-- KEYS[9]  dialed        (n:BROKER, first:BROKER, last:BROKER)       KEYS[10] down
-- KEYS[11] callee_caps   KEYS[12] broker_day   KEYS[13] pair guard
-- KEYS[14] records       (campaigns with call records to fetch)      KEYS[15] cdr_due
-- KEYS[16] reconcile     KEYS[17] due          KEYS[18] wake         KEYS[19] running
-- KEYS[20] capped        KEYS[21] brokers      KEYS[22] account      KEYS[23] caller
-- KEYS[24] agents        KEYS[25] parked_callers  KEYS[26] caller_stats
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed  ARGV[5] outcome (Outcome.*)
-- ARGV[6] patch_json  ARGV[7] reason  ARGV[8] campaign_id
-- ARGV[9] cdr_wait_ms  ARGV[10] reconcile_wait_ms  (-1: no call records for this campaign)
-- ARGV[11] begun_at_ms  ARGV[12] max_attempts  ARGV[13] retry_base_ms  ARGV[14] retry_cap_ms
-- ARGV[15] retry_jitter (0.5..1: a share of the backoff)   ARGV[16] day_key  ARGV[17] month_key
-- ARGV[18] feed (1: the calling window is open)  ARGV[19] depth  ARGV[20] lookahead_ms
-- ARGV[21] queued_lease_ms  ARGV[22] next_day_ms  ARGV[23] account_interval_ms
-- ARGV[24] queue_prefix  ARGV[25] pace_prefix  ARGV[26] interval_ms (this broker's)
-- ARGV[27] caller (the person rung)  ARGV[28] caller pacing (1|0)  ARGV[29] concurrency
-- ARGV[30] caller_prefix  ARGV[31] parked_prefix  ARGV[32] presence_prefix  ARGV[33] sign_in
-- Returns {0} (not DIALING with this token: nothing changed), or {1, final outcome, then
-- broker, packed, token, slot_ms, caller of each row fed}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, queue_key, result_key, retry_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local dialed_key, down_key, callee_caps_key, broker_day_key = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local pair_key, records_key, cdr_key, reconcile_key = KEYS[13], KEYS[14], KEYS[15], KEYS[16]
local due_key, wake_key, running_key = KEYS[17], KEYS[18], KEYS[19]
local row, token, broker, packed, outcome = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local reason, cid = ARGV[7], ARGV[8]
local cdr_wait, reconcile_wait = tonumber(ARGV[9]), tonumber(ARGV[10])
local begun_at, max_attempts = tonumber(ARGV[11]), tonumber(ARGV[12])
local retry_base, retry_cap, retry_jitter = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local day_key, month_key, feed = ARGV[16], ARGV[17], ARGV[18] == '1'
local c = feed_context(
  {state = state_key, counts = counts_key, lease = lease_key, down = down_key,
   capped = KEYS[20], due = due_key, wake = wake_key, brokers = KEYS[21], account = KEYS[22],
   agents = KEYS[24], parked_callers = KEYS[25]},
  {depth = ARGV[19], lookahead = ARGV[20], queued_lease = ARGV[21], day_key = day_key,
   next_day = ARGV[22], account_interval = ARGV[23], queue_prefix = ARGV[24],
   pace_prefix = ARGV[25], interval = ARGV[26], pacing = ARGV[28], concurrency = ARGV[29],
   caller_prefix = ARGV[30], parked_prefix = ARGV[31], cid = cid,
   presence_prefix = ARGV[32], sign_in = ARGV[33]})
local caller_key, caller = KEYS[23], ARGV[27]
local member = member_of(broker, packed)

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.DIALING or tok ~= token then return {0} end
local now = now_ms()

local cur = redis.call('HGET', result_key, row)
local obj = cur and cjson.decode(cur) or {}
for k, v in pairs(cjson.decode(ARGV[6])) do obj[k] = v end
local attempts = tonumber(obj['attempts']) or 0
-- A request refused before anything was placed (NOT_PLACED: CCC unreachable, throttled, this
-- worker's key refused; BROKER_DOWN, CAMPAIGN_FATAL) is no attempt of the row's.
local refused = outcome == Outcome.NOT_PLACED or outcome == Outcome.BROKER_DOWN
  or outcome == Outcome.CAMPAIGN_FATAL
if not refused then
  attempts = attempts + 1
  obj['attempts'] = attempts
  obj['broker'] = broker
  obj['caller'] = caller
  obj['last_attempt_at'] = begun_at
  if not obj['first_attempt_at'] then obj['first_attempt_at'] = begun_at end
end
-- A row an operator redialled has its attempts counted from the redial (REDIAL).
local tries = attempts - (tonumber(obj['redial_offset']) or 0)
if outcome == Outcome.RETRY_WAIT and tries >= max_attempts then outcome = Outcome.FAILED end
if outcome == Outcome.DISPATCHED then obj['dispatched_at'] = now end
if cur or next(obj) ~= nil then redis.call('HSET', result_key, row, cjson.encode(obj)) end

if outcome ~= Outcome.DISPATCHED and outcome ~= Outcome.UNKNOWN then
  redis.call('HINCRBY', callee_caps_key, 'd:' .. day_key, -1)
  redis.call('HINCRBY', callee_caps_key, 'm:' .. month_key, -1)
  if tonumber(redis.call('GET', broker_day_key) or '0') > 0 then
    redis.call('DECR', broker_day_key)
  end
  redis.call('DEL', pair_key)
  if c.pacing then
    -- Nothing was placed: the caller is free at once, and their next row may go.
    redis.call('ZREM', caller_key, cid .. ':' .. row)
    redis.call('ZADD', c.agents, 'XX', now, caller)
    unpark(c, caller, now)
  end
end
redis.call('ZREM', lease_key, member)
if outcome == Outcome.RETRY_WAIT or outcome == Outcome.NOT_PLACED then
  set_state(state_key, counts_key, row, State.DIALING, State.RETRY_WAIT)
  local backoff = math.min(retry_cap, retry_base * 2 ^ (tries - 1)) * retry_jitter
  redis.call('ZADD', retry_key, now + math.floor(backoff), member)
elseif outcome == Outcome.BROKER_DOWN or outcome == Outcome.CAMPAIGN_FATAL then
  -- the call was refused, not placed: the row waits at the head of its queue
  requeue(state_key, counts_key, row, State.DIALING, queue_key, packed)
  if outcome == Outcome.BROKER_DOWN then
    redis.call('HSETNX', down_key, broker, reason)
  elseif redis.call('HGET', meta_key, 'status') == Status.RUNNING then
    redis.call('HSET', meta_key, 'status', Status.PAUSED, 'pause_reason', reason)
    redis.call('SREM', running_key, cid)
    emit_status(Status.PAUSED, reason)
  end
else
  set_state(state_key, counts_key, row, State.DIALING, outcome)
end
emit_attempt(row, outcome, obj, cdr_wait >= 0)
if outcome == Outcome.DISPATCHED and cdr_wait >= 0 then
  redis.call('ZADD', cdr_key, now + cdr_wait, row)
  redis.call('SADD', records_key, cid)
elseif outcome == Outcome.UNKNOWN and reconcile_wait >= 0 then
  redis.call('ZADD', reconcile_key, now + reconcile_wait, member)
  redis.call('SADD', records_key, cid)
end
if outcome == Outcome.DISPATCHED then
  if caller ~= '' then redis.call('HINCRBY', KEYS[26], 'n:' .. caller, 1) end
  if redis.call('HINCRBY', dialed_key, 'n:' .. broker, 1) == 1 then
    redis.call('HSET', dialed_key, 'first:' .. broker, now)
  end
  redis.call('HSET', dialed_key, 'last:' .. broker, now)
end

local out = {1, outcome}
local rows = {}
local inflight = tonumber(redis.call('HGET', inflight_key, broker) or '1') - 1
if outcome ~= Outcome.BROKER_DOWN then
  if feed and redis.call('HGET', meta_key, 'status') == Status.RUNNING then
    feed_broker(c, broker, now, inflight, c.depth, rows, true)
  else
    -- Not fed now: the broker is due as soon as its campaign runs in its window again.
    redis.call('ZADD', due_key, now, broker)
  end
end
if #rows ~= 5 then redis.call('HSET', inflight_key, broker, inflight + #rows / 5) end
-- The campaign's last call finishes it (UPKEEP would, a little later).
if #rows == 0 and inflight == 0 then complete_if_done(meta_key, counts_key, running_key, cid, now) end
for _, v in ipairs(rows) do table.insert(out, v) end
return out
