-- WAKE_SLEEPING: campaigns whose calling window has opened go back to the running set.
-- KEYS[1] sleeping  KEYS[2] running   ARGV[1] now_ms (the feeder's clock)
-- Returns the ids woken.
local sleeping_key, running_key, now = KEYS[1], KEYS[2], tonumber(ARGV[1])
local woken = redis.call('ZRANGEBYSCORE', sleeping_key, '-inf', now)
for _, cid in ipairs(woken) do
  redis.call('SADD', running_key, cid)
  redis.call('ZREM', sleeping_key, cid)
end
return woken
