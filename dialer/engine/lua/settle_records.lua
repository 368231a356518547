-- SETTLE_RECORDS: what one round of call-record lookups found for DISPATCHED rows, for many
-- rows at once. Each item is {row, job_id, act, patch, at}:
--   found  the call's record: the patch is its outcome; the row's lookups stop.
--   again  no record yet, or the lookup failed: look again at `at`.
--   stop   the campaign's horizon passed with no record: the patch says why; lookups stop.
-- Only a row still DISPATCHED with that JobId is changed (an operator may have redialled it);
-- any other stops being looked up.
-- KEYS[1] state  KEYS[2] result  KEYS[3] cdr_due
-- ARGV[1] items (JSON list)
-- Returns the rows whose outcome was written.
local state_key, result_key, cdr_key = KEYS[1], KEYS[2], KEYS[3]
local settled = {}
for _, item in ipairs(cjson.decode(ARGV[1])) do
  local row = tostring(item.row)
  local cur = redis.call('HGET', result_key, row)
  local job_id = cur and cjson.decode(cur)['job_id']
  if type(job_id) ~= 'string' then job_id = '' end
  if split_state(redis.call('HGET', state_key, row)) ~= State.DISPATCHED
      or job_id ~= item.job_id then
    redis.call('ZREM', cdr_key, row)
  elseif item.act == 'again' then
    redis.call('ZADD', cdr_key, 'XX', item.at, row)
  else
    patch_result(result_key, row, item.patch)
    emit_settled(row, item.act, redis.call('HGET', result_key, row))
    redis.call('ZREM', cdr_key, row)
    if item.act == 'found' then table.insert(settled, item.row) end
  end
end
return settled
