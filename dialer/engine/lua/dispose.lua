-- DISPOSE: an agent saved the disposition of their call. It is written to the row's result
-- (and its list of dispositions) and the agent's hold on that call ends: they are offered
-- their next call at once, without waiting for the call's record -- also when the call is
-- UNKNOWN: the agent frees themselves, never the customer. If the row's record is already
-- in (DISPATCHED, no lookup due), what the disposition asks of the row happens here
-- (`next`: a recycle or callback, as SETTLE_RECORDS would); otherwise SETTLE_RECORDS applies
-- it when the record comes (dialer.strategy.rules reads the saved disposition).
-- KEYS[1] state  KEYS[2] result  KEYS[3] cdr_due  KEYS[4] counts  KEYS[5] retry
-- KEYS[6] callbacks  KEYS[7] meta  KEYS[8] running  KEYS[9] wake  KEYS[10] caller (the agent's)
-- KEYS[11] agents  KEYS[12] due  KEYS[13] parked_callers
-- KEYS[14] caller_stats (disposed:CODE counts dispositions saved, for status)
-- ARGV[1] row  ARGV[2] job_id (the call disposed of)  ARGV[3] disposition JSON
-- ARGV[4] next JSON ({at, member, callback, owner, patch}; '' none)  ARGV[5] campaign_id
-- ARGV[6] agent  ARGV[7] queue_prefix  ARGV[8] parked_prefix
-- Returns -1 (the row's current call is another: nothing written), 0 saved, 1 saved and
-- the row's next contact scheduled.
local state_key, result_key, cdr_key, counts_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local meta_key, running_key, wake_key = KEYS[7], KEYS[8], KEYS[9]
local row, job_id, cid, agent = ARGV[1], ARGV[2], ARGV[5], ARGV[6]
local cur = redis.call('HGET', result_key, row)
local obj = cur and cjson.decode(cur) or {}
local current = obj['job_id']
if type(current) ~= 'string' then current = '' end
if current ~= job_id then return -1 end
local now = now_ms()
local saved = cjson.decode(ARGV[3])
saved['at'] = now
redis.call('HINCRBY', KEYS[14], 'disposed:' .. saved['code'], 1)
local list = obj['dispositions']
if type(list) ~= 'table' then list = {} end
table.insert(list, saved)
local patch = {disposition = saved, dispositions = list}
-- A new callback's state starts over (an earlier one's was taken or expired).
if saved['callback_at'] and saved['callback_at'] ~= cjson.null then patch['callback_state'] = 'scheduled' end
obj = patch_result(result_key, row, patch)
local attempt = tonumber(obj['attempts']) or 0
emit('disposition.saved', row, attempt, saved)

local applied = 0
local st = split_state(redis.call('HGET', state_key, row))
if ARGV[4] ~= '' and st == State.DISPATCHED and not redis.call('ZSCORE', cdr_key, row) then
  local nxt = cjson.decode(ARGV[4])
  patch_result(result_key, row, nxt.patch or {})
  set_state(state_key, counts_key, row, State.DISPATCHED, State.RETRY_WAIT)
  if nxt.callback then
    redis.call('ZADD', KEYS[6], nxt.at, nxt.member)
    emit('callback.scheduled', row, attempt, {at = nxt.at, owner = nxt.owner or '',
      ['for'] = (nxt.owner or '') ~= '' and 'me' or 'anyone'})
  else
    redis.call('ZADD', KEYS[5], nxt.at, nxt.member)
  end
  if redis.call('HGET', meta_key, 'status') == Status.DONE then
    redis.call('HSET', meta_key, 'status', Status.RUNNING)
    redis.call('SADD', running_key, cid)
    emit_status(Status.RUNNING)
  end
  redis.call('RPUSH', wake_key, nxt.at)
  redis.call('LTRIM', wake_key, -16, -1)
  applied = 1
end

-- The agent is free now: their next parked row, and every broker waiting for an agent, may go.
if redis.call('ZREM', KEYS[10], cid .. ':' .. row) == 1 then
  local c = {due = KEYS[12], wake = wake_key, parked_callers = KEYS[13],
    queue_prefix = ARGV[7], parked_prefix = ARGV[8]}
  unpark(c, agent, now)
  if redis.call('ZADD', KEYS[11], 'XX', 'CH', now, agent) == 1 then
    for _, broker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[12], '(' .. now, '+inf')) do
      set_due(KEYS[12], wake_key, broker, now, now)
    end
  end
end
return applied
