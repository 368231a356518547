-- RECONCILE: an UNKNOWN row settled by the call records. Found -> DISPATCHED (its record
-- fetched later); certainly absent -> PENDING at the head of its queue, a fresh attempt (and
-- the campaign runs again if it had finished).
-- KEYS[1] meta  KEYS[2] state  KEYS[3] counts  KEYS[4] result  KEYS[5] cdr_due
-- KEYS[6] queue  KEYS[7] running  KEYS[8] due  KEYS[9] wake
-- ARGV[1] row  ARGV[2] found (1|0)  ARGV[3] patch_json  ARGV[4] cdr_wait_ms (-1: none)
-- ARGV[5] campaign_id  ARGV[6] packed  ARGV[7] broker  ARGV[8] caller_prefix
-- Returns 1 applied, 0 the row was no longer UNKNOWN.
local meta_key, state_key, counts_key, result_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cdr_key, queue_key, running_key, due_key, wake_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local row, found, cdr_wait = ARGV[1], ARGV[2] == '1', tonumber(ARGV[4])
local cid, packed, broker = ARGV[5], ARGV[6], ARGV[7]
if split_state(redis.call('HGET', state_key, row)) ~= State.UNKNOWN then return 0 end
local obj = patch_result(result_key, row, cjson.decode(ARGV[3]))
local now = now_ms()
if found then
  set_state(state_key, counts_key, row, State.UNKNOWN, State.DISPATCHED)
  if cdr_wait >= 0 then redis.call('ZADD', cdr_key, now + cdr_wait, row) end
else
  requeue(state_key, counts_key, row, State.UNKNOWN, queue_key, packed)
  if obj['caller'] then
    -- No call was placed: its caller is not held by it.
    redis.call('ZREM', ARGV[8] .. obj['caller'], cid .. ':' .. row)
  end
  wake(due_key, wake_key, broker, now)
  if redis.call('HGET', meta_key, 'status') == Status.DONE then
    redis.call('HSET', meta_key, 'status', Status.RUNNING)
    redis.call('SADD', running_key, cid)
  end
end
return 1
