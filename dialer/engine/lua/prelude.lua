-- Shared helpers, prepended to every script after the generated tables (State, ACTIVE,
-- Refusal, Outcome, SEP, ENTRY: see dialer/engine/scripts.py `lua_tables`).
--
-- Row state lives in the campaign's state hash as "STATE" or "STATE|token" (QUEUED,
-- DIALING); a row missing from the hash is PENDING. The token is minted when the feeder
-- queues the row, so a stale or duplicated Celery message finds a different token and does
-- nothing. Every transition keeps the per-state counts hash in step.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function split_state(v)
  if not v then return State.PENDING, '' end
  local i = string.find(v, '|', 1, true)
  if not i then return v, '' end
  return string.sub(v, 1, i - 1), string.sub(v, i + 1)
end

local function set_state(state_key, counts_key, row, old, new, token)
  if new == State.PENDING then
    redis.call('HDEL', state_key, row)
  elseif token and token ~= '' then
    redis.call('HSET', state_key, row, new .. '|' .. token)
  else
    redis.call('HSET', state_key, row, new)
  end
  if old ~= new then
    redis.call('HINCRBY', counts_key, old, -1)
    redis.call('HINCRBY', counts_key, new, 1)
  end
end

local function patch_result(result_key, row, patch)
  local cur = redis.call('HGET', result_key, row)
  local obj = cur and cjson.decode(cur) or {}
  for k, v in pairs(patch) do obj[k] = v end
  redis.call('HSET', result_key, row, cjson.encode(obj))
  return obj
end

-- The packed dial entry (dialer/engine/codec.py): fields joined by SEP, in ENTRY order.
local function entry_fields(packed)
  local fields = {}
  for f in string.gmatch(packed .. SEP, '([^' .. SEP .. ']*)' .. SEP) do
    table.insert(fields, f)
  end
  return fields
end

local function entry_row(packed)
  return string.match(packed, '^(%d+)')
end

-- Lease, retry and reconcile sets hold rows as "broker SEP packed entry".
local function member_of(broker, packed)
  return broker .. SEP .. packed
end

local function split_member(member)
  local i = string.find(member, SEP, 1, true)
  return string.sub(member, 1, i - 1), string.sub(member, i + 1)
end

-- A broker's due score is when the feeder should next look at it. Setting one that is soon
-- and earlier than anything the campaign's feeder waits for pushes the time to the wake
-- list that feeder blocks on, so it sleeps exactly until then and never polls. (Its
-- half-second refresh feeds every campaign anyway: later times need no push.)
local NOTIFY_WITHIN_MS = 500
local MAX_SCAN = 64
local SLOT_SLACK = 1.01  -- see feed_broker
local function set_due(due_key, wake_key, broker, at, now)
  local first = nil
  if at <= now + NOTIFY_WITHIN_MS then
    first = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
  end
  redis.call('ZADD', due_key, at, broker)
  if first and (not first[2] or at < tonumber(first[2])) then
    redis.call('RPUSH', wake_key, at)
    redis.call('LTRIM', wake_key, -16, -1)
  end
end

-- The broker has work now (a row came back to its queue, or a place in flight freed up).
local function wake(due_key, wake_key, broker, now)
  set_due(due_key, wake_key, broker, now, now)
end

-- A row that must be dialled again goes back to the head of its broker's queue: a PENDING
-- row is always in exactly one queue.
local function requeue(state_key, counts_key, row, old, queue, packed)
  set_state(state_key, counts_key, row, old, State.PENDING)
  redis.call('LPUSH', queue, packed)
end

-- Events (dialer/engine/events.py), written in the same step as the change they tell of.
-- A script that emits is given the outbox stream and the campaign's sequence hash as its
-- last two KEYS and the campaign id as its last ARGV (Scripts._run, EMITTING); `row` nil is
-- the campaign's own event. Each row's events are numbered 1, 2, ... in the order they
-- happened (the campaign's own under "-").
local function emit(kind, row, attempt, data)
  local outbox, seq_key, cid = KEYS[#KEYS - 1], KEYS[#KEYS], ARGV[#ARGV]
  local seq = redis.call('HINCRBY', seq_key, row or '-', 1)
  redis.call('XADD', outbox, '*', 'type', kind, 'campaign', cid, 'row', row or '',
    'attempt', attempt or '', 'seq', seq, 'at', now_ms(), 'data', cjson.encode(data or {}))
end

-- The fields of a row's result record that its events carry, when present.
local EVENT_FIELDS = {'job_id', 'broker', 'caller', 'error_code', 'error_message', 'outcome',
  'talk_seconds', 'release_initiator', 'release_reason', 'established_at', 'released_at',
  'outcome_note', 'dispatched_at'}
local function event_data(obj, extra)
  local data = {}
  for _, f in ipairs(EVENT_FIELDS) do
    if obj[f] ~= nil and obj[f] ~= cjson.null then data[f] = obj[f] end
  end
  for k, v in pairs(extra or {}) do data[k] = v end
  return data
end

-- What FINISH (and BEGIN_DIAL) tell of an attempt's end: a call placed, a row FAILED, or
-- UNKNOWN. A DISPATCHED row whose campaign fetches no call records is finished at once;
-- otherwise its call record finishes it (SETTLE_RECORDS).
local function emit_attempt(row, outcome, obj, records)
  local attempt = tonumber(obj['attempts']) or 0
  if outcome == Outcome.DISPATCHED then
    emit('call.placed', row, attempt, event_data(obj))
    if not records then emit('row.finished', row, attempt, event_data(obj, {state = State.DISPATCHED})) end
  elseif outcome == Outcome.FAILED then
    emit('row.finished', row, attempt, event_data(obj, {state = State.FAILED}))
  elseif outcome == Outcome.UNKNOWN then
    emit('row.unknown', row, attempt, event_data(obj, {state = State.UNKNOWN}))
  end
end

-- What SETTLE_RECORDS tells of a DISPATCHED row whose lookups ended: its call's outcome
-- (found), and the row's end unless the strategy tries the customer `again`.
local function emit_settled(row, act, result, again)
  local obj = result and cjson.decode(result) or {}
  local attempt = tonumber(obj['attempts']) or 0
  if act == 'found' then emit('call.ended', row, attempt, event_data(obj)) end
  if not again then emit('row.finished', row, attempt, event_data(obj, {state = State.DISPATCHED})) end
end

local function emit_status(status, reason)
  emit('campaign.status', nil, 0, {status = status, reason = reason or ''})
end

-- Rows in RETRY_WAIT whose time has come (a transient failure's backoff, a recycled contact,
-- an agent's missed leg) go back to the head of their broker's queue, ahead of fresh rows,
-- and the broker is due now. Returns how many went back.
local function release_retries(state_key, counts_key, retry_key, queue_prefix, due_key, wake_key,
                               now, limit)
  local due = redis.call('ZRANGEBYSCORE', retry_key, '-inf', now, 'LIMIT', 0, limit)
  for _, member in ipairs(due) do
    local broker, packed = split_member(member)
    local row = entry_row(packed)
    if split_state(redis.call('HGET', state_key, row)) == State.RETRY_WAIT then
      requeue(state_key, counts_key, row, State.RETRY_WAIT, queue_prefix .. broker, packed)
      wake(due_key, wake_key, broker, now)
    end
    redis.call('ZREM', retry_key, member)
  end
  return #due
end

-- A running campaign with no row left to dial is DONE. True when it just finished.
local function complete_if_done(meta_key, counts_key, running_key, cid, now)
  if redis.call('HGET', meta_key, 'status') ~= Status.RUNNING then return false end
  for _, n in ipairs(redis.call('HMGET', counts_key, unpack(ACTIVE))) do
    if tonumber(n or '0') > 0 then return false end
  end
  redis.call('HSET', meta_key, 'status', Status.DONE, 'finished_at', now)
  redis.call('SREM', running_key, cid)
  emit_status(Status.DONE)
  return true
end

-- Counters that expire: set the expiry once, when the counter is created.
local function count(key, ttl_s)
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ttl_s) end
end

-- An agent is offered calls only when READY (dialer.agents). With no presence hash they are
-- presumed present, unless the campaign wants its agents signed in on their screen.
local function present(presence_prefix, sign_in, number)
  local state = redis.call('HGET', presence_prefix .. number, 'state')
  if not state then return not sign_in end
  return state == 'READY'
end

-- Callers are people (KEYS caller:NUMBER, every campaign): the zset holds each call the
-- person is in -- queued, dialling or talking -- scored by when it stops holding them. One
-- who is not present is as good as busy.
local function caller_busy(c, number, now)
  if not present(c.presence_prefix, c.sign_in, number) then return true end
  local key = c.caller_prefix .. number
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZCARD', key) >= c.concurrency
end

-- The pool's agent free longest (the agents zset scores when each is free from), if any;
-- never `avoid`, the agent who last missed the row's call (dialer.strategy).
local function free_agent(c, now, avoid)
  for _, agent in ipairs(redis.call('ZRANGE', c.agents, 0, -1)) do
    if agent ~= avoid and not caller_busy(c, agent, now) then return agent end
  end
  return nil
end

-- A caller's next parked row goes back to the head of its broker queue, which is due now.
local function unpark(c, number, now)
  local item = redis.call('LPOP', c.parked_prefix .. number)
  if not item then
    redis.call('SREM', c.parked_callers, number)
    return
  end
  local broker, packed = split_member(item)
  redis.call('LPUSH', c.queue_prefix .. broker, packed)
  set_due(c.due, c.wake, broker, now, now)
end

-- When the earliest hold of a caller ends (nil: none).
local function caller_free_at(c, number)
  local first = redis.call('ZRANGE', c.caller_prefix .. number, 0, 0, 'WITHSCORES')
  return first[2] and tonumber(first[2]) or nil
end

-- Per-campaign feeding context, built by feed_context from the script's KEYS/ARGV:
-- {state, counts, lease, down, capped, due, wake, brokers, account, agents, parked_callers
--  (keys); queue_prefix, pace_prefix, caller_prefix, parked_prefix, cid, depth, lookahead,
--  queued_lease, day_key, next_day, account_interval, pacing (callers), concurrency,
--  presence_prefix, sign_in (agents must be signed in to be offered calls)}
-- Queue a broker's next PENDING rows (at most `limit`, and never more than `depth` in
-- flight) whose slots are near, reserving each slot on the broker's (and the account's)
-- pace key. "Near" is the lookahead plus depth intervals, so the finishing call can always
-- feed its successor; BEGIN_DIAL re-checks status and real spacing before anything dials.
-- Sets the broker's due score (`notify`: tell the feeder, see set_due); appends broker,
-- packed, token, slot, caller per row to `out` (the caller: the row's own, or the pool agent
-- it was given). Returns rows queued and the broker's due score (nil: nothing to feed).
local function feed_broker(c, broker, now, inflight, limit, out, notify)
  if redis.call('HEXISTS', c.down, broker) == 1 then
    redis.call('ZREM', c.due, broker)
    return 0, nil
  end
  if c.day_key ~= '' and redis.call('HGET', c.capped, broker) == c.day_key then
    redis.call('ZADD', c.due, c.next_day, broker)
    return 0, c.next_day
  end
  local interval = c.interval or tonumber(redis.call('HGET', c.brokers, broker))
  local pace = c.pace_prefix .. broker
  local tat = tonumber(redis.call('GET', pace) or '0')
  local account_tat = 0
  if c.account_interval > 0 then
    account_tat = tonumber(redis.call('GET', c.account) or '0')
  end
  local horizon = now + c.lookahead + c.depth * interval
  local fed, empty, scanned, no_agent = 0, false, 0, false
  -- Rows of busy callers are parked on the way (at most MAX_SCAN a call): none blocks the
  -- rows behind it.
  while inflight < c.depth and fed < limit and scanned < MAX_SCAN do
    local slot = math.max(now, tat, account_tat)
    if slot > horizon then break end
    local packed = redis.call('LPOP', c.queue_prefix .. broker)
    if not packed then
      empty = true
      break
    end
    scanned = scanned + 1
    local row = entry_row(packed)
    if split_state(redis.call('HGET', c.state, row)) == State.PENDING then
      local caller = ''
      if c.pacing then
        local fields = entry_fields(packed)
        caller = fields[ENTRY.caller]
        if caller == '' then
          caller = free_agent(c, now, fields[ENTRY.avoid])
          if not caller then
            redis.call('LPUSH', c.queue_prefix .. broker, packed)
            no_agent = true
            break
          end
        elseif caller_busy(c, caller, now) then
          redis.call('RPUSH', c.parked_prefix .. caller, member_of(broker, packed))
          redis.call('SADD', c.parked_callers, caller)
          caller = nil
        end
      end
      if caller then
        fed = fed + 1
        -- Unique per queueing of a row: a row is never queued twice in one millisecond.
        local token = now .. '.' .. (#out / 5 + 1)
        set_state(c.state, c.counts, row, State.PENDING, State.QUEUED, token)
        redis.call('ZADD', c.lease, now + c.queued_lease, member_of(broker, packed))
        if c.pacing then
          -- Held from now: no other row takes this person before the call begins.
          redis.call('ZADD', c.caller_prefix .. caller, now + c.queued_lease, c.cid .. ':' .. row)
          redis.call('ZADD', c.agents, 'XX', now + c.queued_lease, caller)
        end
        inflight = inflight + 1
        -- Slots 1 % further apart than the pacing checks (the broker's and the account's):
        -- each call begins a little after its slot (sleep, a round trip), and without the
        -- slack the delays add up until two queued calls' slots are both past and they race
        -- for one start (a refusal each).
        tat = slot + interval * SLOT_SLACK
        if c.account_interval > 0 then account_tat = slot + c.account_interval * SLOT_SLACK end
        table.insert(out, broker)
        table.insert(out, packed)
        table.insert(out, token)
        table.insert(out, slot)
        table.insert(out, caller)
      end
    end
  end
  if fed > 0 then
    redis.call('SET', pace, tat, 'PX', math.ceil(tat - now) + 60000)
    if c.account_interval > 0 then
      redis.call('SET', c.account, account_tat, 'PX', math.ceil(account_tat - now) + 60000)
    end
  end
  local at = nil
  if empty then
    redis.call('ZREM', c.due, broker)
  else
    if no_agent then
      -- Every agent is busy: look again when the first is due to be free (known ends), and
      -- at least every two seconds (ends that call records have yet to tell).
      local first = redis.call('ZRANGE', c.agents, 0, 0, 'WITHSCORES')
      at = math.min(now + 2000, math.max(now + 250, tonumber(first[2] or '0')))
    elseif inflight >= c.depth then
      -- FINISH feeds the successor when a place frees up; the lease sweep is the backstop.
      at = now + c.queued_lease
    else
      at = math.max(tat, account_tat) - c.lookahead - c.depth * interval
    end
    if notify then
      set_due(c.due, c.wake, broker, at, now)
    else
      redis.call('ZADD', c.due, at, broker)
    end
  end
  return fed, at
end

local function feed_context(keys, args)
  return {
    state = keys.state, counts = keys.counts, lease = keys.lease, down = keys.down,
    capped = keys.capped, due = keys.due, wake = keys.wake, brokers = keys.brokers,
    account = keys.account, agents = keys.agents, parked_callers = keys.parked_callers,
    queue_prefix = args.queue_prefix, pace_prefix = args.pace_prefix,
    caller_prefix = args.caller_prefix, parked_prefix = args.parked_prefix, cid = args.cid,
    pacing = args.pacing == '1', concurrency = tonumber(args.concurrency),
    depth = tonumber(args.depth), lookahead = tonumber(args.lookahead),
    queued_lease = tonumber(args.queued_lease), day_key = args.day_key,
    next_day = tonumber(args.next_day), account_interval = tonumber(args.account_interval),
    interval = tonumber(args.interval),  -- nil: read per broker from the brokers hash
    presence_prefix = args.presence_prefix, sign_in = args.sign_in == '1',
  }
end

