-- CALL_ENDED: a call's record says it ended at `released_at`: its caller is free from release
-- plus wrap-up (not before), and their next parked row is due then.
-- KEYS[1] result  KEYS[2] agents  KEYS[3] due  KEYS[4] wake  KEYS[5] caller_stats
-- ARGV[1] row  ARGV[2] campaign_id  ARGV[3] released_at_ms  ARGV[4] wrap_up_ms
-- ARGV[5] caller_prefix  ARGV[6] parked_prefix  ARGV[7] connected (1|0)  ARGV[8] talk_s
-- ARGV[9] busy_ms (the call's length, ring to release)
-- ARGV[10] missed (1|0): the caller's leg rang out (counted per caller as missed:CALLER)
-- Returns the epoch ms the caller is free from, or -1 (the row names no caller it rang).
local result_key, agents_key, due_key, wake_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local row, cid = ARGV[1], ARGV[2]
local released_at, wrap_up = tonumber(ARGV[3]), tonumber(ARGV[4])
local caller_prefix, parked_prefix = ARGV[5], ARGV[6]
local cur = redis.call('HGET', result_key, row)
if not cur then return -1 end
local caller = cjson.decode(cur)['caller']
if not caller or caller == '' then return -1 end
local free_at = released_at + wrap_up
local stats_key = KEYS[5]
redis.call('HINCRBY', stats_key, 'connected:' .. caller, tonumber(ARGV[7]))
redis.call('HINCRBY', stats_key, 'talk_s:' .. caller, tonumber(ARGV[8]))
redis.call('HINCRBY', stats_key, 'busy_ms:' .. caller, tonumber(ARGV[9]))
if ARGV[10] == '1' then redis.call('HINCRBY', stats_key, 'missed:' .. caller, 1) end
-- XX: a hold that has already lapsed (the max hold) is not brought back.
redis.call('ZADD', caller_prefix .. caller, 'XX', free_at, cid .. ':' .. row)
local now = now_ms()
local head = redis.call('LINDEX', parked_prefix .. caller, 0)
if head then
  local broker = split_member(head)
  set_due(due_key, wake_key, broker, free_at, now)
end
if redis.call('ZADD', agents_key, 'XX', 'CH', free_at, caller) == 1 then
  -- A pool agent: every broker waiting for an agent may go when this one is free.
  for _, broker in ipairs(redis.call('ZRANGEBYSCORE', due_key, '(' .. free_at, '+inf')) do
    set_due(due_key, wake_key, broker, free_at, now)
  end
end
return free_at
