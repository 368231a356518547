-- WEBHOOK_ATTEMPT: what one delivery attempt got, and what follows.
--   ok      2xx: delivered; the endpoint's failures in a row start again from 0.
--   gone    410: delivered to no one; the endpoint is disabled.
--   fail    any other answer, a timeout, no connection: due again after a backoff with full
--           jitter (min(cap, base * 2^(n-1)) * jitter), given up once `max_age_ms` has
--           passed since the delivery's first attempt. `max_failures` failed attempts in a
--           row, the first at least `min_failing_ms` ago, disable the endpoint: an outage of
--           a minute fails many deliveries at once and must not disable it.
--   held    the endpoint is disabled: the delivery waits for a redelivery (not attempted).
-- The endpoint's circuit: `breaker_failures` failures in a row open it (WEBHOOK_CLAIM then
-- parks its deliveries and sends one probe at a time); a failed probe puts the next one off
-- twice as long (up to `probe_cap_ms`); a failed delivery is parked, not put off on its own
-- backoff, while the circuit is open; any delivered attempt closes it and makes every
-- parked delivery due now, so the backlog drains at full speed; disabling it does too (they
-- are then held, as any delivery of a disabled endpoint).
-- Only a delivery still pending is changed (a late report of a redelivered one is dropped).
-- KEYS[1] deliveries  KEYS[2] due  KEYS[3] endpoint state (hash)  KEYS[4] breakers
-- KEYS[5] parked
-- ARGV[1] campaign_id  ARGV[2] event id  ARGV[3] endpoint id  ARGV[4] act
-- ARGV[5] http status (0: none)  ARGV[6] latency_ms  ARGV[7] error text  ARGV[8] jitter (0..1)
-- ARGV[9] backoff base ms  ARGV[10] backoff cap ms  ARGV[11] max_age_ms  ARGV[12] max_failures
-- ARGV[13] field prefix of the endpoint in its state hash ("" for the global one's)
-- ARGV[14] attempts kept in the log  ARGV[15] min_failing_ms  ARGV[16] breaker_failures
-- ARGV[17] probe_ms (the first wait)  ARGV[18] probe_cap_ms
-- Returns {state after, endpoint disabled now 1|0}.
local deliveries_key, due_key, state_key = KEYS[1], KEYS[2], KEYS[3]
local breakers_key, parked_key = KEYS[4], KEYS[5]
local cid, event_id, endpoint, act = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local status, latency, err = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local jitter, base, cap = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local max_age, max_failures, prefix = tonumber(ARGV[11]), tonumber(ARGV[12]), ARGV[13]
local keep, min_failing = tonumber(ARGV[14]), tonumber(ARGV[15])
local breaker_failures, probe_ms, probe_cap = tonumber(ARGV[16]), tonumber(ARGV[17]), tonumber(ARGV[18])
local field = event_id .. '|' .. endpoint
local member = cid .. '|' .. field
local circuit = cid .. '|' .. endpoint
local now = now_ms()
local raw_breaker = redis.call('HGET', breakers_key, circuit)
local breaker = raw_breaker and cjson.decode(raw_breaker)

-- A probe that was not attempted (its delivery is gone or no longer pending): the next
-- claim sends another.
local function probe_again()
  if breaker and breaker.probe == member then
    breaker.probe, breaker.probe_at = nil, now
    redis.call('HSET', breakers_key, circuit, cjson.encode(breaker))
  end
end

-- Close the circuit: every parked delivery of the endpoint due now, in the parked order.
local function close()
  if not breaker then return end
  local lo, hi = '[' .. circuit .. '|', '[' .. circuit .. '|\255'
  local parked = redis.call('ZRANGEBYLEX', parked_key, lo, hi)
  for i = 1, #parked, 500 do
    local batch = {}
    for j = i, math.min(i + 499, #parked) do
      local ev = string.match(parked[j], '|([^|]*)$')
      table.insert(batch, now)
      table.insert(batch, cid .. '|' .. ev .. '|' .. endpoint)
    end
    redis.call('ZADD', due_key, unpack(batch))
  end
  redis.call('ZREMRANGEBYLEX', parked_key, lo, hi)
  redis.call('HDEL', breakers_key, circuit)
  breaker = nil
end

local cur = redis.call('HGET', deliveries_key, field)
if not cur then
  redis.call('ZREM', due_key, member)
  probe_again()
  return {'missing', 0}
end
local d = cjson.decode(cur)
if d.state ~= 'pending' then
  probe_again()
  return {d.state, 0}
end
local disabled = 0
local function disable(why)
  if (redis.call('HGET', state_key, prefix .. 'disabled') or '') == '' then
    redis.call('HSET', state_key, prefix .. 'disabled', why, prefix .. 'disabled_at', now)
    disabled = 1
  end
  close()
end

if act == 'held' then
  d.state = 'held'
  redis.call('ZREM', due_key, member)
  probe_again()
else
  d.attempts = (tonumber(d.attempts) or 0) + 1
  if not d.first_at then d.first_at = now end
  local entry = {at = now, status = status, latency_ms = latency, error = err}
  local log = d.log or {}
  table.insert(log, entry)
  while #log > keep do table.remove(log, 1) end
  d.log = log
  d.last = entry
  if act == 'ok' then
    d.state = 'delivered'
    d.delivered_at = now
    redis.call('ZREM', due_key, member)
    redis.call('HSET', state_key, prefix .. 'failures', 0, prefix .. 'failing_since', '')
    close()
  elseif act == 'gone' then
    d.state = 'gone'
    redis.call('ZREM', due_key, member)
    disable('Webhook.Gone')
  else
    local failures = redis.call('HINCRBY', state_key, prefix .. 'failures', 1)
    local since = tonumber(redis.call('HGET', state_key, prefix .. 'failing_since') or '')
    if failures == 1 or not since then
      since = now
      redis.call('HSET', state_key, prefix .. 'failing_since', now)
    end
    if failures >= max_failures and now - since >= min_failing then
      disable('Webhook.Failing')
    elseif not breaker and failures >= breaker_failures then
      breaker = {probe_at = now + probe_ms, interval = probe_ms}
      redis.call('HSET', breakers_key, circuit, cjson.encode(breaker))
    elseif breaker and breaker.probe == member then
      breaker.interval = math.min(probe_cap, breaker.interval * 2)
      breaker.probe, breaker.probe_at = nil, now + breaker.interval
      redis.call('HSET', breakers_key, circuit, cjson.encode(breaker))
    end
    if now - tonumber(d.first_at) >= max_age then
      d.state = 'given_up'
      redis.call('ZREM', due_key, member)
    elseif breaker then
      -- Paused: it waits with the others for the circuit to close, not on its own backoff
      -- (which could keep it minutes after the endpoint is back).
      d.next_at = nil
      redis.call('ZREM', due_key, member)
      redis.call('ZADD', parked_key, 0, circuit .. '|' .. event_id)
    else
      local backoff = math.min(cap, base * 2 ^ (d.attempts - 1)) * jitter
      d.next_at = now + math.floor(backoff)
      redis.call('ZADD', due_key, d.next_at, member)
    end
  end
end
redis.call('HSET', deliveries_key, field, cjson.encode(d))
return {d.state, disabled}
