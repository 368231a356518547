-- ACQUIRE_LEASE: take a free lease or renew one's own.
-- KEYS[1] lease   ARGV[1] owner  ARGV[2] ttl_ms   Returns 1 if `owner` holds it now.
local lease_key, owner, ttl = KEYS[1], ARGV[1], ARGV[2]
local holder = redis.call('GET', lease_key)
if holder == owner then
  redis.call('PEXPIRE', lease_key, ttl)
  return 1
end
if not holder then
  redis.call('SET', lease_key, owner, 'PX', ttl)
  return 1
end
return 0
