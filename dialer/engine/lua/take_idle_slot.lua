-- TAKE_IDLE_SLOT: take an account-budget slot only if the budget is idle now (no call has
-- reserved ahead), so background requests use slack and never push a call's slot back.
-- KEYS[1] account next free slot   ARGV[1] interval_ms   Returns 1 taken, 0 not.
local account_key, interval = KEYS[1], tonumber(ARGV[1])
local now = now_ms()
if tonumber(redis.call('GET', account_key) or '0') > now then return 0 end
redis.call('SET', account_key, now + interval, 'PX', math.ceil(interval) + 60000)
return 1
