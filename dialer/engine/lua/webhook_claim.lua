-- WEBHOOK_CLAIM: the deliveries due now, each pushed `lease_ms` later in the due set as it is
-- handed to a task: if the task never reports (its worker died), it is due again then.
-- KEYS[1] due
-- ARGV[1] limit  ARGV[2] lease_ms
-- Returns the members claimed ("CAMPAIGN|EVENT|ENDPOINT").
local due_key, limit, lease = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', due_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do redis.call('ZADD', due_key, now + lease, member) end
return due
