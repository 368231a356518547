-- BEGIN_DIAL: QUEUED -> DIALING just before the request leaves. Re-checks the campaign's
-- status (pause within a second), the caps, and that the broker's (and the account's)
-- previous call *really* began at least an interval ago: slots are reserved an interval
-- apart by FEED, but a call that began late would otherwise land too close to the next.
-- Caps are counted here, when the call begins; FINISH hands them back if it never left.
-- KEYS[1]  meta          KEYS[2]  state        KEYS[3]  counts       KEYS[4]  lease
-- KEYS[5]  inflight      KEYS[6]  queue (this broker's)              KEYS[7]  result
-- KEYS[8]  last_dial     epoch ms a call on this broker last began (every campaign)
-- KEYS[9]  callee_day    KEYS[10] callee_month KEYS[11] broker_day   KEYS[12] pair guard
-- KEYS[13] retry         KEYS[14] capped       KEYS[15] last_account_dial
-- KEYS[16] due           KEYS[17] wake         KEYS[18] brokers (broker -> interval ms)
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed
-- ARGV[5] dialing_lease_ms   ARGV[6] callee daily cap   ARGV[7] callee monthly cap
-- ARGV[8] broker daily cap   ARGV[9] pair_guard_ms      ARGV[10] next_day_ms (Redis clock)
-- ARGV[11] day_key           ARGV[12] account_interval_ms (0 = no account cap)
-- Returns {attempt} (the row is DIALING), or {Refusal.X} / {Refusal.TOO_SOON, wait_ms}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, queue_key, result_key, last_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local callee_day_key, callee_month_key, broker_day_key = KEYS[9], KEYS[10], KEYS[11]
local pair_key, retry_key, capped_key, account_last_key = KEYS[12], KEYS[13], KEYS[14], KEYS[15]
local due_key, wake_key, brokers_key = KEYS[16], KEYS[17], KEYS[18]
local row, token, broker, packed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local dialing_lease = tonumber(ARGV[5])
local daily, monthly, broker_cap = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local pair_guard, next_day, day_key = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
local account_interval = tonumber(ARGV[12])
local member = member_of(broker, packed)

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.QUEUED or tok ~= token then return {Refusal.STALE} end
local now = now_ms()

local function release()
  redis.call('ZREM', lease_key, member)
  redis.call('HINCRBY', inflight_key, broker, -1)
  wake(due_key, wake_key, broker, now, now)
end
-- The row was not dialled: back to the head of its queue, or CANCELLED with its campaign.
local function give_back(status)
  if status == Status.CANCELLED then
    set_state(state_key, counts_key, row, State.QUEUED, State.CANCELLED)
  else
    requeue(state_key, counts_key, row, State.QUEUED, queue_key, packed)
  end
  release()
end
local function park(due, code, message)
  set_state(state_key, counts_key, row, State.QUEUED, State.RETRY_WAIT)
  redis.call('ZADD', retry_key, due, member)
  release()
  patch_result(result_key, row, {error_code = code, error_message = message})
end

local status = redis.call('HGET', meta_key, 'status')
if status ~= Status.RUNNING then
  give_back(status)
  return {Refusal.NOT_RUNNING}
end
if monthly > 0 and tonumber(redis.call('GET', callee_month_key) or '0') >= monthly then
  set_state(state_key, counts_key, row, State.QUEUED, State.FAILED)
  release()
  patch_result(result_key, row, {error_code = 'Cap.Callee',
    error_message = 'the callee has had ' .. monthly .. ' calls this month'})
  return {Refusal.MONTHLY_CAP}
end
if daily > 0 and tonumber(redis.call('GET', callee_day_key) or '0') >= daily then
  park(next_day, 'Cap.Callee', 'the callee has had ' .. daily .. ' calls today')
  return {Refusal.DAILY_CAP}
end
if pair_guard > 0 then
  local guard = redis.call('PTTL', pair_key)
  if guard > 0 then
    park(now + guard, 'Cap.PairGuard', 'this caller and callee were connected moments ago')
    return {Refusal.PAIR_GUARD}
  end
end
if broker_cap > 0 and tonumber(redis.call('GET', broker_day_key) or '0') >= broker_cap then
  give_back(status)
  redis.call('HSET', capped_key, broker, day_key)
  return {Refusal.BROKER_CAP}
end
local interval = tonumber(redis.call('HGET', brokers_key, broker))
local last = tonumber(redis.call('GET', last_key) or '0')
if now < last + interval then return {Refusal.TOO_SOON, math.ceil(last + interval - now)} end
if account_interval > 0 then
  local account_last = tonumber(redis.call('GET', account_last_key) or '0')
  if now < account_last + account_interval then
    return {Refusal.TOO_SOON, math.ceil(account_last + account_interval - now)}
  end
  redis.call('SET', account_last_key, now, 'PX', math.ceil(account_interval) + 60000)
end
redis.call('SET', last_key, now, 'PX', math.ceil(interval) + 60000)
-- Counted whatever this campaign's caps: another campaign's caps count these calls too.
count(callee_day_key, 2 * 86400)
count(callee_month_key, 32 * 86400)
count(broker_day_key, 2 * 86400)
if pair_guard > 0 then redis.call('SET', pair_key, '1', 'PX', pair_guard) end
set_state(state_key, counts_key, row, State.QUEUED, State.DIALING, token)
redis.call('ZADD', lease_key, 'XX', now + dialing_lease, member)
local cur = redis.call('HGET', result_key, row)
local obj = cur and cjson.decode(cur) or {}
local attempts = (tonumber(obj['attempts']) or 0) + 1
obj['attempts'] = attempts
obj['broker'] = broker
obj['last_attempt_at'] = now
if not obj['first_attempt_at'] then obj['first_attempt_at'] = now end
redis.call('HSET', result_key, row, cjson.encode(obj))
return {attempts}
