-- CALL_ENDED: a call's record says it ended at `released_at`: its caller is free from release
-- plus wrap-up (not before), and their next parked row is due then.
-- KEYS[1] result  KEYS[2] agents  KEYS[3] due  KEYS[4] wake  KEYS[5] caller_stats
-- ARGV[1] row  ARGV[2] campaign_id  ARGV[3] released_at_ms  ARGV[4] wrap_up_ms
-- ARGV[5] caller_prefix  ARGV[6] parked_prefix  ARGV[7] connected (1|0)  ARGV[8] talk_s
-- ARGV[9] busy_ms (the call's length, ring to release)
-- ARGV[10] missed (1|0): the caller's leg rang out (counted per caller as missed:CALLER)
-- KEYS[6] presences (every agent with a presence hash)
-- ARGV[11] presence_prefix  ARGV[12] missed_max (0: never put on break)
-- ARGV[13] agent_day_prefix (the agent's figures for the day the call began, + NUMBER)
-- An agent whose leg rang out missed_max times in a row goes on BREAK (System.MissedRings)
-- and is offered no call until READY again; an answered leg resets the count.
-- Returns {the epoch ms the caller is free from, 1 if this call put them on break else 0},
-- or {-1, 0} (the row names no caller it rang).
local result_key, agents_key, due_key, wake_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local row, cid = ARGV[1], ARGV[2]
local released_at, wrap_up = tonumber(ARGV[3]), tonumber(ARGV[4])
local caller_prefix, parked_prefix = ARGV[5], ARGV[6]
local cur = redis.call('HGET', result_key, row)
if not cur then return {-1, 0} end
local caller = cjson.decode(cur)['caller']
if not caller or caller == '' then return {-1, 0} end
local free_at = released_at + wrap_up
local stats_key = KEYS[5]
redis.call('HINCRBY', stats_key, 'connected:' .. caller, tonumber(ARGV[7]))
redis.call('HINCRBY', stats_key, 'talk_s:' .. caller, tonumber(ARGV[8]))
redis.call('HINCRBY', stats_key, 'busy_ms:' .. caller, tonumber(ARGV[9]))
if ARGV[10] == '1' then redis.call('HINCRBY', stats_key, 'missed:' .. caller, 1) end
local day_key = ARGV[13] .. caller
redis.call('HINCRBY', day_key, 'calls', 1)
redis.call('HINCRBY', day_key, 'connects', tonumber(ARGV[7]))
redis.call('HINCRBY', day_key, 'talk_s', tonumber(ARGV[8]))
redis.call('HINCRBY', day_key, 'missed', tonumber(ARGV[10]))
redis.call('EXPIRE', day_key, 3 * 86400)
local presence_key, missed_max = ARGV[11] .. caller, tonumber(ARGV[12])
local broke = 0
if ARGV[10] == '1' then
  local missed = redis.call('HINCRBY', presence_key, 'missed', 1)
  local state = redis.call('HGET', presence_key, 'state')
  if missed_max > 0 and missed >= missed_max and (not state or state == 'READY') then
    local at = now_ms()
    redis.call('HSET', presence_key, 'state', 'BREAK', 'reason', 'System.MissedRings', 'since', at)
    redis.call('ZADD', KEYS[6], at, caller)
    emit('agent.presence', nil, 0, {agent = caller, state = 'BREAK',
      reason = 'System.MissedRings', missed = missed})
    broke = 1
  elseif not state then
    redis.call('ZADD', KEYS[6], 'NX', now_ms(), caller)
  end
else
  redis.call('HSET', presence_key, 'missed', 0)
end
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
return {free_at, broke}
