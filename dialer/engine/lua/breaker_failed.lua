-- BREAKER_FAILED: a request found no CCC to answer it (refused connection, DNS, TLS, a 502 or
-- 503 in front of CCC). After `threshold` such failures in a row, across every worker, the
-- breaker opens: nothing is fed or dialled until a probe gets an answer. A failed probe
-- (`owner` holds the probe) spaces the next one further out, up to the cap.
-- KEYS[1] breaker (hash)  KEYS[2] breakers (set of names)
-- ARGV[1] name  ARGV[2] threshold  ARGV[3] first_spacing_ms  ARGV[4] spacing_cap_ms
-- ARGV[5] growth (factor per failed probe)  ARGV[6] error code  ARGV[7] owner ('' unless a probe)
-- Returns {1 open / 0 closed, epoch ms of the next probe (0 while closed)}.
local breaker_key, index_key = KEYS[1], KEYS[2]
local name, threshold = ARGV[1], tonumber(ARGV[2])
local first, cap, growth = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local code, owner = ARGV[6], ARGV[7]
local now = now_ms()

redis.call('SADD', index_key, name)
local failures = redis.call('HINCRBY', breaker_key, 'failures', 1)
redis.call('HSET', breaker_key, 'error', code, 'failed_at', now)
if redis.call('HGET', breaker_key, 'state') == 'open' then
  if owner ~= '' and redis.call('HGET', breaker_key, 'probe') == owner then
    local spacing = math.min(cap, tonumber(redis.call('HGET', breaker_key, 'spacing') or first) * growth)
    redis.call('HSET', breaker_key, 'spacing', math.floor(spacing), 'next_probe', now + math.floor(spacing))
    redis.call('HDEL', breaker_key, 'probe', 'probe_until')
  end
  return {1, tonumber(redis.call('HGET', breaker_key, 'next_probe'))}
end
if failures < threshold then return {0, 0} end
redis.call('HSET', breaker_key, 'state', 'open', 'since', now, 'spacing', first,
  'next_probe', now + first)
redis.call('HDEL', breaker_key, 'probe', 'probe_until')
return {1, now + first}
