-- GIVE_BACK: a QUEUED row this worker will not dial now (CCC is unreachable, or the worker is
-- unhealthy): back to the head of its broker's queue as if it had never been queued. No
-- attempt is counted and nothing else is fed: the feeder feeds again when dialling may resume.
-- Its caller, held since FEED, is free again (as FINISH frees the caller of a call that was
-- never placed).
-- KEYS[1] state  KEYS[2] counts  KEYS[3] lease  KEYS[4] inflight  KEYS[5] queue (this broker's)
-- KEYS[6] due    KEYS[7] wake    KEYS[8] caller (the person FEED held)  KEYS[9] agents
-- KEYS[10] parked_callers
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed  ARGV[5] campaign_id
-- ARGV[6] caller  ARGV[7] caller pacing (1|0)  ARGV[8] queue_prefix  ARGV[9] parked_prefix
-- Returns 1 (given back) or Refusal.STALE (the row is not QUEUED with this token).
local state_key, counts_key, lease_key, inflight_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local queue_key, due_key, wake_key, caller_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local row, token, broker, packed, cid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local caller, pacing = ARGV[6], ARGV[7] == '1'
local c = {due = due_key, wake = wake_key, agents = KEYS[9], parked_callers = KEYS[10],
  queue_prefix = ARGV[8], parked_prefix = ARGV[9]}

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.QUEUED or tok ~= token then return Refusal.STALE end
local now = now_ms()
requeue(state_key, counts_key, row, State.QUEUED, queue_key, packed)
redis.call('ZREM', lease_key, member_of(broker, packed))
redis.call('HINCRBY', inflight_key, broker, -1)
wake(due_key, wake_key, broker, now)
if pacing then
  redis.call('ZREM', caller_key, cid .. ':' .. row)
  redis.call('ZADD', c.agents, 'XX', now, caller)
  unpark(c, caller, now)
end
return 1
