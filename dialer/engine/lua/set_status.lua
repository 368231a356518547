-- SET_STATUS: start, pause or resume a campaign, together with its place in the feeders'
-- running set (a crash can never leave one without the other).
-- KEYS[1] meta  KEYS[2] running  KEYS[3] sleeping  KEYS[4] due  KEYS[5] wake
-- KEYS[6] brokers
-- ARGV[1] allowed current statuses (comma-separated)  ARGV[2] new status
-- ARGV[3] pause reason  ARGV[4] campaign_id
-- Returns 1 changed, 0 not in an allowed status, Refusal.NO_CAMPAIGN.
local meta_key, running_key, sleeping_key = KEYS[1], KEYS[2], KEYS[3]
local due_key, wake_key, brokers_key = KEYS[4], KEYS[5], KEYS[6]
local allowed, new, reason, cid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local cur = redis.call('HGET', meta_key, 'status')
if not cur or cur == Status.UPLOADING then return Refusal.NO_CAMPAIGN end
local ok = false
for s in string.gmatch(allowed, '[^,]+') do
  if s == cur then ok = true end
end
if not ok then return 0 end
redis.call('HSET', meta_key, 'status', new, 'pause_reason', reason)
emit_status(new, reason)
if new == Status.RUNNING then
  redis.call('SADD', running_key, cid)
  -- Every broker is looked at again: rows may have come back while it stood still.
  local now = now_ms()
  -- `status` gives a campaign just started or resumed a moment before calling it stalled.
  redis.call('HSET', meta_key, 'running_since', now)
  for _, broker in ipairs(redis.call('HKEYS', brokers_key)) do
    wake(due_key, wake_key, broker, now)
  end
else
  redis.call('SREM', running_key, cid)
  redis.call('ZREM', sleeping_key, cid)
end
return 1
