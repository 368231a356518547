-- BREAKER_PROBE: may `owner` send the one probe request of an open breaker now? Only one
-- worker probes at a time; a probe whose worker vanished is taken over once its lease ends.
-- KEYS[1] breaker (hash)
-- ARGV[1] owner  ARGV[2] lease_ms (how long the probe may take)
-- Returns {1, 0}: probe now; {0, ms until the next probe} (0: the breaker is closed).
local breaker_key = KEYS[1]
local owner, lease = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', breaker_key, 'state') ~= 'open' then return {0, 0} end
local now = now_ms()
local next_probe = tonumber(redis.call('HGET', breaker_key, 'next_probe') or '0')
if now < next_probe then return {0, next_probe - now} end
local until_ms = tonumber(redis.call('HGET', breaker_key, 'probe_until') or '0')
if until_ms > now then return {0, until_ms - now} end
redis.call('HSET', breaker_key, 'probe', owner, 'probe_until', now + lease)
return {1, 0}
