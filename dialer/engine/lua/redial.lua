-- REDIAL: an operator puts chosen UNKNOWN or FAILED rows back as fresh attempts. Each goes to
-- the tail of its broker's queue as PENDING, so FEED and BEGIN_DIAL pace it and count it
-- against every cap like any other row; a DONE campaign runs again (a PAUSED one waits for
-- resume). The result keeps the attempt count, the JobIds of earlier attempts
-- (previous_job_ids) and what each redial found (redialled_from: "UNKNOWN Client.ReadTimeout
-- Reconcile.NotFound"); what the last attempt left (error, outcome, notes) is cleared, and
-- FINISH counts retries of transient failures from here (redial_offset).
-- KEYS[1] meta  KEYS[2] state  KEYS[3] counts  KEYS[4] result  KEYS[5] reconcile
-- KEYS[6] cdr_due  KEYS[7] due  KEYS[8] wake  KEYS[9] running
-- KEYS[10] records_stats  (unknown:CODE -> rows left UNKNOWN for that reason)
-- ARGV[1] campaign_id  ARGV[2] queue_prefix  ARGV[3] the state the rows must be in
-- ARGV[4..] triples: broker, packed entry, reconcile member ('' if none)
-- Returns {rows put back, campaign status after}, or {Refusal.NO_CAMPAIGN} /
-- {Refusal.WRONG_STATUS} (a cancelled campaign, or one not started).
local meta_key, state_key, counts_key, result_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local reconcile_key, cdr_key, due_key, wake_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local running_key, stats_key = KEYS[9], KEYS[10]
local cid, queue_prefix, expected = ARGV[1], ARGV[2], ARGV[3]

local status = redis.call('HGET', meta_key, 'status')
if not status or status == Status.UPLOADING then return {Refusal.NO_CAMPAIGN} end
if status ~= Status.RUNNING and status ~= Status.PAUSED and status ~= Status.DONE then
  return {Refusal.WRONG_STATUS}
end
-- Left by the last attempt; a fresh attempt writes its own.
local CLEARED = {'job_id', 'request_id', 'http_status', 'error_code', 'error_message',
  'retry_code', 'dispatched_at', 'outcome', 'talk_seconds', 'release_initiator',
  'release_reason', 'established_at', 'released_at', 'outcome_note', 'reconcile',
  'reconcile_code', 'reconcile_tries', 'reconcile_failures', 'reconciled_from', 'cdr_tries',
  'record_found_at'}
local now = now_ms()
local n = 0
for i = 4, #ARGV, 3 do
  local broker, packed, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local row = entry_row(packed)
  if split_state(redis.call('HGET', state_key, row)) == expected then
    local cur = redis.call('HGET', result_key, row)
    local obj = cur and cjson.decode(cur) or {}
    local previous = obj['previous_job_ids']
    if type(previous) ~= 'table' then previous = {} end
    local job_id = obj['job_id']
    if type(job_id) == 'string' and job_id ~= '' then table.insert(previous, job_id) end
    local looked_up = member ~= '' and redis.call('ZREM', reconcile_key, member) == 1
    local reason = obj['reconcile_code']
    if not looked_up and expected == State.UNKNOWN and type(reason) == 'string'
        and reason ~= 'Reconcile.Pending' then
      -- a row whose lookups had ended: RECONCILE or FORGET_RECORDS counted it
      redis.call('HINCRBY', stats_key, 'unknown:' .. reason, -1)
    end
    local from = obj['redialled_from']
    if type(from) ~= 'table' then from = {} end
    local was = expected
    for _, name in ipairs({'error_code', 'reconcile_code'}) do
      if type(obj[name]) == 'string' and obj[name] ~= '' then was = was .. ' ' .. obj[name] end
    end
    table.insert(from, was)
    for _, name in ipairs(CLEARED) do obj[name] = nil end
    if #previous > 0 then obj['previous_job_ids'] = previous end
    obj['redialled_from'] = from
    obj['redials'] = (tonumber(obj['redials']) or 0) + 1
    obj['redial_offset'] = tonumber(obj['attempts']) or 0
    redis.call('HSET', result_key, row, cjson.encode(obj))
    set_state(state_key, counts_key, row, expected, State.PENDING)
    redis.call('RPUSH', queue_prefix .. broker, packed)
    redis.call('ZREM', cdr_key, row)
    wake(due_key, wake_key, broker, now)
    n = n + 1
  end
end
if n > 0 and status == Status.DONE then
  redis.call('HSET', meta_key, 'status', Status.RUNNING)
  redis.call('SADD', running_key, cid)
  status = Status.RUNNING
end
return {n, status}
