-- WEBHOOK_REDELIVER: deliver events again, as new pending deliveries due now (their earlier
-- attempts stay in the log, and their 3 days start again).
-- KEYS[1] events  KEYS[2] deliveries  KEYS[3] due
-- ARGV[1] campaign_id  ARGV[2..] "EVENT|ENDPOINT" pairs
-- Returns how many were queued (an event no longer kept is skipped).
local events_key, deliveries_key, due_key = KEYS[1], KEYS[2], KEYS[3]
local cid = ARGV[1]
local now = now_ms()
local n = 0
for i = 2, #ARGV do
  local field = ARGV[i]
  local event_id = string.match(field, '^([^|]*)')
  if redis.call('HEXISTS', events_key, event_id) == 1 then
    local cur = redis.call('HGET', deliveries_key, field)
    local d = cur and cjson.decode(cur) or {attempts = 0, created_at = now, log = {}}
    d.state = 'pending'
    d.first_at = nil
    d.redelivered_at = now
    if next(d.log or {}) == nil then d.log = nil end
    redis.call('HSET', deliveries_key, field, cjson.encode(d))
    redis.call('ZADD', due_key, now, cid .. '|' .. field)
    n = n + 1
  end
end
return n
