-- REDISTRIBUTE: drain a down broker's queue. Rows the pool assigned move to live pool
-- brokers, round robin; rows that named this broker themselves fail.
-- KEYS[1] state  KEYS[2] counts  KEYS[3] result  KEYS[4] source queue  KEYS[5] due
-- KEYS[6] wake
-- ARGV[1] queue_prefix  ARGV[2] limit  ARGV[3] reason  ARGV[4...] live pool brokers
-- Returns the number of rows handled.
local state_key, counts_key, result_key, source_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local due_key, wake_key = KEYS[5], KEYS[6]
local queue_prefix, limit, reason = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local live = {}
for i = 4, #ARGV do table.insert(live, ARGV[i]) end
local now = now_ms()
local n = 0
for _ = 1, limit do
  local packed = redis.call('LPOP', source_key)
  if not packed then break end
  n = n + 1
  local row = entry_row(packed)
  if entry_fields(packed)[ENTRY.from_pool] == '1' and #live > 0 then
    local target = live[(n % #live) + 1]
    redis.call('RPUSH', queue_prefix .. target, packed)
    wake(due_key, wake_key, target, now, now)
  else
    set_state(state_key, counts_key, row, State.PENDING, State.FAILED)
    patch_result(result_key, row, {error_code = 'NotExists.Number', error_message = reason})
  end
end
return n
