-- WEBHOOK_CLAIM: the deliveries due now, each pushed `lease_ms` later in the due set as it is
-- handed to a task: if the task never reports (its worker died), it is due again then.
-- A delivery whose endpoint's circuit is open (WEBHOOK_ATTEMPT opened it) is not handed out:
-- it moves to the parked set, costing nothing until the circuit closes. Each open circuit
-- whose probe time has come sends one parked delivery as its probe; one with nothing parked
-- closes (nothing waits; new deliveries are tried and a failure opens it again).
-- KEYS[1] due  KEYS[2] breakers  KEYS[3] parked
-- ARGV[1] limit  ARGV[2] lease_ms
-- Returns the members claimed ("CAMPAIGN|EVENT|ENDPOINT").
local due_key, breakers_key, parked_key = KEYS[1], KEYS[2], KEYS[3]
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local open = redis.call('HLEN', breakers_key) > 0
local claimed = {}
local due = redis.call('ZRANGEBYSCORE', due_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  local cid, event_id, endpoint = string.match(member, '^([^|]*)|([^|]*)|(.*)$')
  if open and redis.call('HEXISTS', breakers_key, cid .. '|' .. endpoint) == 1 then
    redis.call('ZREM', due_key, member)
    redis.call('ZADD', parked_key, 0, cid .. '|' .. endpoint .. '|' .. event_id)
  else
    redis.call('ZADD', due_key, now + lease, member)
    table.insert(claimed, member)
  end
end
if open then
  local flat = redis.call('HGETALL', breakers_key)
  for i = 1, #flat, 2 do
    local circuit, b = flat[i], cjson.decode(flat[i + 1])
    if tonumber(b.probe_at) <= now then
      local lo, hi = '[' .. circuit .. '|', '[' .. circuit .. '|\255'
      local first = redis.call('ZRANGEBYLEX', parked_key, lo, hi, 'LIMIT', 0, 1)[1]
      if first then
        local cid, endpoint, event_id = string.match(first, '^([^|]*)|(.*)|([^|]*)$')
        local member = cid .. '|' .. event_id .. '|' .. endpoint
        redis.call('ZREM', parked_key, first)
        redis.call('ZADD', due_key, now + lease, member)
        table.insert(claimed, member)
        b.probe, b.probe_at = member, now + lease  -- its report schedules the next probe
        redis.call('HSET', breakers_key, circuit, cjson.encode(b))
      else
        redis.call('HDEL', breakers_key, circuit)
      end
    end
  end
end
return claimed
