-- REDISTRIBUTE: move the pool's rows off a broker CCC refused, round robin over the live pool
-- brokers. Rows that named the broker themselves stay in its queue: they wait for it (resume
-- retries a refused broker), and the campaign pauses when nothing else is left to dial.
-- Looks at up to `limit` rows from the head; the rows that stay go to the tail, so the next
-- call looks further in.
-- KEYS[1] source queue  KEYS[2] due  KEYS[3] wake
-- ARGV[1] queue_prefix  ARGV[2] limit  ARGV[3...] live pool brokers (at least one)
-- Returns the number of rows moved.
local source_key, due_key, wake_key = KEYS[1], KEYS[2], KEYS[3]
local queue_prefix, limit = ARGV[1], tonumber(ARGV[2])
local live = {}
for i = 3, #ARGV do table.insert(live, ARGV[i]) end
local now = now_ms()
local moved, kept = 0, {}
for _ = 1, math.min(limit, redis.call('LLEN', source_key)) do
  local packed = redis.call('LPOP', source_key)
  if entry_fields(packed)[ENTRY.from_pool] == '1' then
    moved = moved + 1
    local target = live[(moved % #live) + 1]
    redis.call('RPUSH', queue_prefix .. target, packed)
    wake(due_key, wake_key, target, now)
  else
    table.insert(kept, packed)
  end
end
if #kept > 0 then redis.call('RPUSH', source_key, unpack(kept)) end
return moved
