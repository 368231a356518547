-- BREAKER_ANSWERED: CCC answered a request (whatever it said): the run of failures is over,
-- and an open breaker closes, so feeding and dialling resume.
-- KEYS[1] breaker (hash)
-- Returns 1 if the breaker was open (it is closed now), else 0.
local breaker_key = KEYS[1]
if redis.call('EXISTS', breaker_key) == 0 then return 0 end
local was_open = redis.call('HGET', breaker_key, 'state') == 'open'
redis.call('HSET', breaker_key, 'state', 'closed', 'failures', 0, 'closed_at', now_ms())
redis.call('HDEL', breaker_key, 'probe', 'probe_until', 'next_probe')
if was_open then return 1 end
return 0
