-- CANCEL: stop a campaign for good, a batch of rows at a time. The first call sets the
-- status (so feeders and workers stop at once); every call, this one included, cancels up to
-- `limit` waiting rows. Calling again after a crash part-way finishes the job. DIALING rows
-- are left to finish as they would have.
-- KEYS[1] meta  KEYS[2] state  KEYS[3] counts  KEYS[4] lease  KEYS[5] inflight
-- KEYS[6] retry  KEYS[7] running  KEYS[8] sleeping  KEYS[9] brokers  KEYS[10] parked_callers
-- ARGV[1] campaign_id  ARGV[2] queue_prefix  ARGV[3] limit  ARGV[4] parked_prefix
-- ARGV[5] the status it ends in (CANCELLED; DONE when its --end-at passed)
-- ARGV[6] reason code each cancelled row's result carries ('' for none), ARGV[7] its text
-- KEYS[11] result
-- Returns {rows cancelled, 1 if rows are left to cancel}, or {Refusal.NO_CAMPAIGN} /
-- {Refusal.WRONG_STATUS}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, retry_key, running_key, sleeping_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local brokers_key, parked_callers_key = KEYS[9], KEYS[10]
local cid, queue_prefix, limit, parked_prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local final, code, message, result_key = ARGV[5], ARGV[6], ARGV[7], KEYS[11]

local status = redis.call('HGET', meta_key, 'status')
if not status or status == Status.UPLOADING then return {Refusal.NO_CAMPAIGN} end
if status ~= final then
  if status ~= Status.READY and status ~= Status.RUNNING and status ~= Status.PAUSED then
    return {Refusal.WRONG_STATUS}
  end
  redis.call('HSET', meta_key, 'status', final, 'finished_at', now_ms())
  emit_status(final)
  redis.call('SREM', running_key, cid)
  redis.call('ZREM', sleeping_key, cid)
end

local n = 0
local function cancel(packed, allowed)
  local row = entry_row(packed)
  local st = split_state(redis.call('HGET', state_key, row))
  if allowed[st] then
    set_state(state_key, counts_key, row, st, State.CANCELLED)
    if code ~= '' then patch_result(result_key, row, {error_code = code, error_message = message}) end
    emit('row.finished', row, nil, {state = State.CANCELLED, error_code = code ~= '' and code or nil})
    n = n + 1
  end
end
local waiting = {[State.PENDING] = true}
for _, broker in ipairs(redis.call('HKEYS', brokers_key)) do
  if n >= limit then break end
  for _, packed in ipairs(redis.call('LPOP', queue_prefix .. broker, limit - n) or {}) do
    cancel(packed, waiting)
  end
end
for _, caller in ipairs(redis.call('SMEMBERS', parked_callers_key)) do
  if n >= limit then break end
  for _, item in ipairs(redis.call('LPOP', parked_prefix .. caller, limit - n) or {}) do
    cancel(select(2, split_member(item)), waiting)
  end
  if redis.call('EXISTS', parked_prefix .. caller) == 0 then
    redis.call('SREM', parked_callers_key, caller)
  end
end
local retrying = {[State.RETRY_WAIT] = true}
if n < limit then
  local items = redis.call('ZPOPMIN', retry_key, limit - n)
  for i = 1, #items, 2 do cancel(select(2, split_member(items[i])), retrying) end
end
local queued = {[State.QUEUED] = true}
for _, member in ipairs(redis.call('ZRANGE', lease_key, 0, -1)) do
  local broker, packed = split_member(member)
  local before = n
  cancel(packed, queued)
  if n > before then
    redis.call('ZREM', lease_key, member)
    redis.call('HINCRBY', inflight_key, broker, -1)
  end
end

local more = 0
if redis.call('ZCARD', retry_key) > 0 or redis.call('SCARD', parked_callers_key) > 0 then
  more = 1
end
for _, broker in ipairs(redis.call('HKEYS', brokers_key)) do
  if more == 1 then break end
  if redis.call('LLEN', queue_prefix .. broker) > 0 then more = 1 end
end
return {n, more}
