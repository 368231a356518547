-- RECONCILE: what one round of call-record lookups found for UNKNOWN rows, for many rows at
-- once. A call absent from the records may still be ringing, talking or being written, so
-- nothing here dials a row again: only an operator does that (REDIAL).
-- Each item is {member, act, patch, at}, member being "broker SEP packed" as FINISH wrote it:
--   found  the row's call is in the records: DISPATCHED, with the patch (JobId, times and,
--          if the call has ended, its outcome); `at` > 0: its record is looked up again from
--          then for the outcome.
--   again  not found yet, or the lookup failed: the patch (counts, note); look again at `at`.
--   stop   the campaign's horizon passed: the row stays UNKNOWN, the patch says why.
-- A row no longer UNKNOWN (redialled meanwhile) is left alone and no longer looked up.
-- KEYS[1] state  KEYS[2] counts  KEYS[3] result  KEYS[4] reconcile  KEYS[5] cdr_due
-- KEYS[6] records_stats  (unknown:CODE -> rows left UNKNOWN for that reason)
-- ARGV[1] items (JSON list)
-- Returns the rows found.
local state_key, counts_key, result_key = KEYS[1], KEYS[2], KEYS[3]
local reconcile_key, cdr_key, stats_key = KEYS[4], KEYS[5], KEYS[6]
local found = {}
for _, item in ipairs(cjson.decode(ARGV[1])) do
  local member = item.member
  local _, packed = split_member(member)
  local row = entry_row(packed)
  if split_state(redis.call('HGET', state_key, row)) ~= State.UNKNOWN then
    redis.call('ZREM', reconcile_key, member)
  else
    patch_result(result_key, row, item.patch)
    if item.act == 'found' then
      set_state(state_key, counts_key, row, State.UNKNOWN, State.DISPATCHED)
      emit_attempt(row, Outcome.DISPATCHED, cjson.decode(redis.call('HGET', result_key, row)), item.at > 0)
      redis.call('ZREM', reconcile_key, member)
      if item.at > 0 then redis.call('ZADD', cdr_key, item.at, row) end
      table.insert(found, tonumber(row))
    elseif item.act == 'again' then
      redis.call('ZADD', reconcile_key, 'XX', item.at, member)
    else
      redis.call('ZREM', reconcile_key, member)
      redis.call('HINCRBY', stats_key, 'unknown:' .. item.patch.reconcile_code, 1)
    end
  end
end
return found
