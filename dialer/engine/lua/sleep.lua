-- SLEEP: a running campaign outside its calling windows leaves the feeders' running set
-- until its window opens, so it costs them nothing meanwhile; `status` shows when.
-- KEYS[1] meta  KEYS[2] running  KEYS[3] sleeping
-- ARGV[1] campaign_id  ARGV[2] opens_at_ms (Redis clock)
-- Returns 1 asleep, 0 the campaign is not RUNNING.
local meta_key, running_key, sleeping_key = KEYS[1], KEYS[2], KEYS[3]
local cid, opens_at = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', meta_key, 'status') ~= Status.RUNNING then return 0 end
redis.call('SREM', running_key, cid)
redis.call('ZADD', sleeping_key, opens_at, cid)
redis.call('HSET', meta_key, 'resumes_at', opens_at)
return 1
