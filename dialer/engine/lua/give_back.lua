-- GIVE_BACK: a QUEUED row this worker will not dial now (CCC is unreachable, or the worker is
-- unhealthy): back to the head of its broker's queue as if it had never been queued. No
-- attempt is counted and nothing else is fed: the feeder feeds again when dialling may resume.
-- KEYS[1] state  KEYS[2] counts  KEYS[3] lease  KEYS[4] inflight  KEYS[5] queue (this broker's)
-- KEYS[6] due    KEYS[7] wake
-- ARGV[1] row  ARGV[2] token  ARGV[3] broker  ARGV[4] packed
-- Returns 1 (given back) or Refusal.STALE (the row is not QUEUED with this token).
local state_key, counts_key, lease_key, inflight_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local queue_key, due_key, wake_key = KEYS[5], KEYS[6], KEYS[7]
local row, token, broker, packed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local st, tok = split_state(redis.call('HGET', state_key, row))
if st ~= State.QUEUED or tok ~= token then return Refusal.STALE end
requeue(state_key, counts_key, row, State.QUEUED, queue_key, packed)
redis.call('ZREM', lease_key, member_of(broker, packed))
redis.call('HINCRBY', inflight_key, broker, -1)
wake(due_key, wake_key, broker, now_ms())
return 1
