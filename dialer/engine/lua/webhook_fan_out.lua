-- WEBHOOK_FAN_OUT: one outbox event becomes a delivery per matching endpoint, in one step with
-- its acknowledgement: a dispatcher that dies half-way leaves the event pending in the
-- consumer group (another claims it), and one that fans it out twice finds it acknowledged.
-- KEYS[1] outbox  KEYS[2] events  KEYS[3] event_times  KEYS[4] deliveries  KEYS[5] due
-- ARGV[1] group  ARGV[2] stream entry id  ARGV[3] campaign_id  ARGV[4] event id
-- ARGV[5] body (JSON, as it will be sent)  ARGV[6] occurred_at_ms  ARGV[7..] endpoint ids
-- Returns the number of deliveries made (0: already fanned out, or no endpoint wants it).
local outbox_key, events_key, times_key = KEYS[1], KEYS[2], KEYS[3]
local deliveries_key, due_key = KEYS[4], KEYS[5]
local group, entry, cid, event_id, body = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local occurred_at = tonumber(ARGV[6])

if redis.call('XACK', outbox_key, group, entry) == 0 then return 0 end
redis.call('XDEL', outbox_key, entry)
if #ARGV < 7 then return 0 end  -- no endpoint wants it: nothing to keep
local now = now_ms()
redis.call('HSET', events_key, event_id, body)
redis.call('ZADD', times_key, occurred_at, event_id)
local n = 0
for i = 7, #ARGV do
  local record = {state = 'pending', attempts = 0, created_at = now, log = {}}
  redis.call('HSET', deliveries_key, event_id .. '|' .. ARGV[i], cjson.encode(record))
  redis.call('ZADD', due_key, now, cid .. '|' .. event_id .. '|' .. ARGV[i])
  n = n + 1
end
return n
