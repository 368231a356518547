-- SET_PRESENCE: an agent's presence changes (dialer.agents): READY, BREAK with a reason, or
-- OFFLINE. A break's length is added to the agent's figures for the day it ends. A READY
-- agent's count of missed rings starts again. `screen`: the change came from their own
-- screen, which keeps the presence alive with heartbeats from now on (OFFLINE: no longer).
-- KEYS[1] presence  KEYS[2] presences  KEYS[3] agent_day (today's figures)
-- ARGV[1] agent  ARGV[2] state  ARGV[3] reason  ARGV[4] account ('': keep)  ARGV[5] screen
-- (1: set by the agent's screen, 0: by someone else, '': keep)  ARGV[6] only_if (a state
-- the agent must be in for the change to happen; '': any)
-- Returns {changed (1|0), previous state ('' none), since of the previous state}.
local key, agent, state, reason = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HMGET', key, 'state', 'since', 'reason')
local prev, since = old[1] or '', tonumber(old[2] or '0')
if ARGV[6] ~= '' and prev ~= ARGV[6] then return {0, prev, since} end
if prev == state and (old[3] or '') == reason then return {0, prev, since} end
local now = now_ms()
if prev == 'BREAK' and since > 0 then
  redis.call('HINCRBY', KEYS[3], 'break_ms', now - since)
  redis.call('EXPIRE', KEYS[3], 3 * 86400)
end
redis.call('HSET', key, 'state', state, 'reason', reason, 'since', now)
if state == 'READY' then redis.call('HSET', key, 'missed', 0) end
if ARGV[4] ~= '' then redis.call('HSET', key, 'account', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', key, 'screen', 1, 'seen', now) end
if ARGV[5] == '0' and state == 'OFFLINE' then redis.call('HSET', key, 'screen', 0) end
redis.call('ZADD', KEYS[2], now, agent)
return {1, prev, since}
