-- FORGET_RECORDS: this campaign's call records will not be fetched (the key may not read
-- them: Forbidden.RAM). The campaign says why once; every row still waiting says why too: a
-- DISPATCHED row has no outcome, an UNKNOWN row stays UNKNOWN with the reason. No lookup is
-- left. A DISPATCHED row is finished here (row.finished, as SETTLE_RECORDS's `stop` tells it);
-- an UNKNOWN row's row.unknown stays its last event, as when RECONCILE's horizon passes.
-- KEYS[1] meta  KEYS[2] state  KEYS[3] result  KEYS[4] cdr_due  KEYS[5] reconcile
-- KEYS[6] records_stats  (unknown:CODE -> rows left UNKNOWN for that reason)
-- ARGV[1] campaign note  ARGV[2] row patch for DISPATCHED rows (JSON)
-- ARGV[3] row patch for UNKNOWN rows (JSON, with its reconcile_code)
-- (emits: the outbox and sequence keys last in KEYS, the campaign id last in ARGV)
-- Returns the number of rows that were waiting.
local meta_key, state_key, result_key, cdr_key, reconcile_key = KEYS[1], KEYS[2], KEYS[3],
  KEYS[4], KEYS[5]
local stats_key = KEYS[6]
local dispatched_patch, unknown_patch = cjson.decode(ARGV[2]), cjson.decode(ARGV[3])
redis.call('HSET', meta_key, 'outcomes_note', ARGV[1])
local n = 0
for _, row in ipairs(redis.call('ZRANGE', cdr_key, 0, -1)) do
  if split_state(redis.call('HGET', state_key, row)) == State.DISPATCHED then
    patch_result(result_key, row, dispatched_patch)
    emit_settled(row, 'stop', redis.call('HGET', result_key, row), false)
    n = n + 1
  end
end
for _, member in ipairs(redis.call('ZRANGE', reconcile_key, 0, -1)) do
  local _, packed = split_member(member)
  local row = entry_row(packed)
  if split_state(redis.call('HGET', state_key, row)) == State.UNKNOWN then
    patch_result(result_key, row, unknown_patch)
    redis.call('HINCRBY', stats_key, 'unknown:' .. unknown_patch.reconcile_code, 1)
    n = n + 1
  end
end
redis.call('DEL', cdr_key, reconcile_key)
return n
