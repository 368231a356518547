-- BEGIN_DIAL: QUEUED -> DIALING just before the request leaves. Re-checks the campaign's
-- status (pause within a second), the caps, and that the broker's (and the account's)
-- previous call *really* began at least an interval ago: slots are reserved an interval
-- apart by FEED, but a call that began late would otherwise land too close to the next.
-- Caps are counted here, when the call begins; FINISH hands them back if it never left.
-- The attempt itself (count, times) is written by FINISH, or by UPKEEP if the worker died.
-- KEYS[1]  meta          KEYS[2]  state        KEYS[3]  counts       KEYS[4]  lease
-- KEYS[5]  inflight      KEYS[6]  queue (this broker's)              KEYS[7]  result
-- KEYS[8]  last_dial     epoch ms a call on this broker last began (every campaign)
-- KEYS[9]  callee_caps   hash d:DAY / m:MONTH -> calls begun to the callee (every campaign)
-- KEYS[10] broker_day    KEYS[11] pair guard   KEYS[12] retry        KEYS[13] capped
-- KEYS[14] last_account_dial  KEYS[15] due      KEYS[16] wake
-- KEYS[17] caller        the person rung first: calls they are in (every campaign)
-- KEYS[18] agents        the campaign's caller pool
-- KEYS[19] dnc           the do-not-call list (every campaign): a callee on it FAILs
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed
-- ARGV[5] dialing_lease_ms   ARGV[6] callee daily cap   ARGV[7] callee monthly cap
-- ARGV[8] broker daily cap   ARGV[9] pair_guard_ms      ARGV[10] next_day_ms (Redis clock)
-- ARGV[11] day_key           ARGV[12] month_key         ARGV[13] account_interval_ms (0: off)
-- ARGV[14] interval_ms       the broker's pacing interval
-- ARGV[15] call_id ("campaign:row")  ARGV[16] caller_max_hold_ms (0: callers not paced)
-- ARGV[17] caller (the row's own, or the pool agent FEED gave it)
-- ARGV[18] ends_at_ms     the campaign's --end-at (0: none): from then no call begins
-- KEYS[20] presence      the caller's presence (dialer.agents)  ARGV[19] sign_in (1|0)
-- KEYS[21] agent_calls   the caller's last calls, for their screen
-- ARGV[20] card_first_ms  an agent at their screen (sign-in) sees the customer's card before
--          their phone rings: the call waits (TOO_SOON) until their screen has shown it, at
--          most this long after the row was queued
-- Returns {begun_at_ms} (the row is DIALING), or {Refusal.X} / {Refusal.TOO_SOON, wait_ms}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, queue_key, result_key, last_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local callee_caps_key, broker_day_key, pair_key = KEYS[9], KEYS[10], KEYS[11]
local retry_key, capped_key, account_last_key = KEYS[12], KEYS[13], KEYS[14]
local due_key, wake_key = KEYS[15], KEYS[16]
local row, token, broker, packed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local dialing_lease = tonumber(ARGV[5])
local daily, monthly, broker_cap = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local pair_guard, next_day = tonumber(ARGV[9]), tonumber(ARGV[10])
local day_key, month_key, account_interval = ARGV[11], ARGV[12], tonumber(ARGV[13])
local interval = tonumber(ARGV[14])
local caller_key, agents_key, call_id = KEYS[17], KEYS[18], ARGV[15]
local max_hold, caller = tonumber(ARGV[16]), ARGV[17]
local dnc_key = KEYS[19]
local AGENT_CALLS_KEPT = 30
local day_field, month_field = 'd:' .. day_key, 'm:' .. month_key
local member = member_of(broker, packed)

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.QUEUED or tok ~= token then return {Refusal.STALE} end
local now = now_ms()

local function release()
  redis.call('ZREM', lease_key, member)
  redis.call('HINCRBY', inflight_key, broker, -1)
  wake(due_key, wake_key, broker, now)
  if max_hold > 0 then
    -- Nothing was placed: the caller is free at once.
    redis.call('ZREM', caller_key, call_id)
    redis.call('ZADD', agents_key, 'XX', now, caller)
  end
end
-- The row was not dialled: back to the head of its queue, or CANCELLED with its campaign.
local function give_back(status)
  if status == Status.CANCELLED then
    set_state(state_key, counts_key, row, State.QUEUED, State.CANCELLED)
    emit('row.finished', row, nil, {state = State.CANCELLED})
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
local ends_at = tonumber(ARGV[18])
if ends_at > 0 and now >= ends_at then
  -- Back to its queue: the feeder ends the campaign and every row still waiting.
  give_back(Status.RUNNING)
  return {Refusal.NOT_RUNNING}
end
if status ~= Status.RUNNING then
  give_back(status)
  return {Refusal.NOT_RUNNING}
end
-- FEED offered the call while the agent was READY; they may have gone on break since (a
-- slot can be seconds ahead). Nobody is rung who is not there: another agent takes the row.
if max_hold > 0 and caller ~= '' then
  local presence = redis.call('HGET', KEYS[20], 'state')
  if (presence and presence ~= 'READY') or (not presence and ARGV[19] == '1') then
    give_back(status)
    return {Refusal.AGENT_AWAY}
  end
  local screen = redis.call('HMGET', KEYS[20], 'screen', 'shown')
  if ARGV[19] == '1' and screen[1] == '1' and screen[2] ~= call_id then
    local queued_at = tonumber(string.match(token, '^(%d+)')) or 0
    if now < queued_at + tonumber(ARGV[20]) then return {Refusal.TOO_SOON, 100} end
  end
end
local callee_calls = redis.call('HMGET', callee_caps_key, day_field, month_field)
local calls_today, calls_month = tonumber(callee_calls[1] or '0'), tonumber(callee_calls[2] or '0')
if monthly > 0 and calls_month >= monthly then
  set_state(state_key, counts_key, row, State.QUEUED, State.FAILED)
  release()
  patch_result(result_key, row, {error_code = 'Cap.Callee',
    error_message = 'the callee has had ' .. monthly .. ' calls this month'})
  emit('row.finished', row, nil, {state = State.FAILED, error_code = 'Cap.Callee'})
  return {Refusal.MONTHLY_CAP}
end
if daily > 0 and calls_today >= daily then
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
local last = tonumber(redis.call('GET', last_key) or '0')
if now < last + interval then return {Refusal.TOO_SOON, math.ceil(last + interval - now)} end
-- Checked here, as the call begins (after the one refusal a worker repeats, TOO_SOON): a
-- number added while the campaign runs is never rung.
if redis.call('HEXISTS', dnc_key, entry_fields(packed)[ENTRY.callee]) == 1 then
  set_state(state_key, counts_key, row, State.QUEUED, State.FAILED)
  release()
  patch_result(result_key, row, {error_code = 'Dnc.Listed',
    error_message = 'the callee is on the do-not-call list'})
  return {Refusal.DO_NOT_CALL}
end
if account_interval > 0 then
  local account_last = tonumber(redis.call('GET', account_last_key) or '0')
  if now < account_last + account_interval then
    return {Refusal.TOO_SOON, math.ceil(account_last + account_interval - now)}
  end
  redis.call('SET', account_last_key, now, 'PX', math.ceil(account_interval) + 60000)
end
redis.call('SET', last_key, now, 'PX', math.ceil(interval) + 60000)
-- Counted whatever this campaign's caps: another campaign's caps count these calls too.
redis.call('HINCRBY', callee_caps_key, day_field, 1)
-- The first call of a month keeps the hash a month beyond it (older days go with it).
if redis.call('HINCRBY', callee_caps_key, month_field, 1) == 1 then
  redis.call('EXPIRE', callee_caps_key, 32 * 86400)
end
count(broker_day_key, 2 * 86400)
if pair_guard > 0 then redis.call('SET', pair_key, '1', 'PX', pair_guard) end
set_state(state_key, counts_key, row, State.QUEUED, State.DIALING, token)
redis.call('ZADD', lease_key, 'XX', now + dialing_lease, member)
if max_hold > 0 then
  -- Busy until the call's record says it ended (records.py), or the max hold.
  redis.call('ZADD', caller_key, now + max_hold, call_id)
  redis.call('LREM', KEYS[21], 0, call_id)
  redis.call('LPUSH', KEYS[21], call_id)
  redis.call('LTRIM', KEYS[21], 0, AGENT_CALLS_KEPT - 1)
  redis.call('EXPIRE', KEYS[21], 7 * 86400)
end
return {now}
