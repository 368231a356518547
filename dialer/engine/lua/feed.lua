-- FEED: move rows PENDING -> QUEUED for the brokers whose next slot is near, reserving each
-- row's slot on the Redis clock. Only brokers in the due set (scored by when they next have
-- work) are looked at, so a campaign waiting on slots, leases or retries costs nothing.
-- KEYS[1]  meta        campaign hash (status, token counter)
-- KEYS[2]  state       row -> state
-- KEYS[3]  counts      state -> rows
-- KEYS[4]  lease       zset of QUEUED/DIALING members -> lease end
-- KEYS[5]  inflight    broker -> rows QUEUED or DIALING
-- KEYS[6]  down        broker -> error code (not fed)
-- KEYS[7]  capped      broker -> day it reached its daily cap
-- KEYS[8]  due         zset broker -> epoch ms it next has work
-- KEYS[9]  brokers     broker -> pacing interval ms
-- KEYS[10] account     the account-wide next free slot (DIALER_MAX_QPS)
-- ARGV[1]  depth              rows queued or dialling per broker at most
-- ARGV[2]  lookahead_ms       queue a row this long before its slot
-- ARGV[3]  queued_lease_ms    a queued row not begun by then goes back
-- ARGV[4]  day_key            today in the campaign's zone (broker daily caps)
-- ARGV[5]  next_day_ms        when today's capped brokers may be fed again
-- ARGV[6]  account_interval_ms 0 = no account-wide cap
-- ARGV[7]  queue_prefix       + broker = the broker's queue key
-- ARGV[8]  pace_prefix        + broker = the broker's next-slot key (shared by campaigns)
-- ARGV[9]  max_rows           rows to queue in this call at most
-- Returns {next_due_ms (-1: nothing due), then broker, packed, token, slot_ms per row}.
local meta_key, state_key, counts_key, lease_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local inflight_key, down_key, capped_key, due_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local brokers_key, account_key = KEYS[9], KEYS[10]
local depth, lookahead = tonumber(ARGV[1]), tonumber(ARGV[2])
local queued_lease, day_key, next_day = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local account_interval = tonumber(ARGV[6])
local queue_prefix, pace_prefix, max_rows = ARGV[7], ARGV[8], tonumber(ARGV[9])

if redis.call('HGET', meta_key, 'status') ~= Status.RUNNING then return {-1} end
local now = now_ms()
local out = {-1}
local account_tat = 0
if account_interval > 0 then account_tat = tonumber(redis.call('GET', account_key) or '0') end
local account_moved = false
local token_base = nil
local n = 0
local due = redis.call('ZRANGEBYSCORE', due_key, '-inf', now + lookahead, 'LIMIT', 0, 256)
for _, broker in ipairs(due) do
  if redis.call('HEXISTS', down_key, broker) == 1 then
    redis.call('ZREM', due_key, broker)
  elseif redis.call('HGET', capped_key, broker) == day_key then
    redis.call('ZADD', due_key, next_day, broker)
  else
    local interval = tonumber(redis.call('HGET', brokers_key, broker))
    local queue, pace = queue_prefix .. broker, pace_prefix .. broker
    local inflight = tonumber(redis.call('HGET', inflight_key, broker) or '0')
    local tat = tonumber(redis.call('GET', pace) or '0')
    local fed, empty = 0, false
    while inflight < depth and n < max_rows do
      local slot = math.max(now, tat, account_tat)
      if slot - now > lookahead then break end
      local packed = redis.call('LPOP', queue)
      if not packed then
        empty = true
        break
      end
      local row = entry_row(packed)
      if split_state(redis.call('HGET', state_key, row)) == State.PENDING then
        if not token_base then token_base = redis.call('HINCRBY', meta_key, 'token', 1) end
        n = n + 1
        fed = fed + 1
        local token = token_base .. '.' .. n
        set_state(state_key, counts_key, row, State.PENDING, State.QUEUED, token)
        redis.call('ZADD', lease_key, now + queued_lease, member_of(broker, packed))
        inflight = inflight + 1
        tat = slot + interval
        if account_interval > 0 then
          account_tat = slot + account_interval
          account_moved = true
        end
        table.insert(out, broker)
        table.insert(out, packed)
        table.insert(out, token)
        table.insert(out, slot)
      end
    end
    if fed > 0 then
      redis.call('SET', pace, tat, 'PX', math.ceil(tat - now) + 60000)
      redis.call('HSET', inflight_key, broker, inflight)
    end
    if empty then
      redis.call('ZREM', due_key, broker)
    elseif inflight >= depth then
      -- FINISH (or a lease running out) wakes the broker when a place frees up.
      redis.call('ZADD', due_key, now + queued_lease, broker)
    else
      redis.call('ZADD', due_key, math.max(tat, account_tat) - lookahead, broker)
    end
  end
end
if account_moved then
  redis.call('SET', account_key, account_tat, 'PX', math.ceil(account_tat - now) + 60000)
end
local first = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
if first[2] then out[1] = tonumber(first[2]) end
return out
