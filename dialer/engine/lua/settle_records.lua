-- SETTLE_RECORDS: what one round of call-record lookups found for DISPATCHED rows, for many
-- rows at once. Each item is {row, job_id, act, patch, at, next}:
--   found  the call's record: the patch is its outcome; the row's lookups stop. With `next`
--          ({at, member}: dialer.strategy decided the customer is tried again), the row waits
--          in RETRY_WAIT until `at`, then goes back to the head of its broker's queue as
--          `member` (broker SEP packed entry) and is fed, paced and capped like a fresh row;
--          a DONE campaign runs again for it.
--   again  no record yet, or the lookup failed: look again at `at`.
--   stop   the campaign's horizon passed with no record: the patch says why; lookups stop.
-- An item with `uncount` ({key, day, month}: KEYS[key] is the callee's caps hash) is a call
-- whose agent leg rang out: the customer was never rung, so the call is taken off the
-- callee's caps for the day and month it began.
-- Only a row still DISPATCHED with that JobId is changed (an operator may have redialled it,
-- or this round was already applied); any other stops being looked up.
-- KEYS[1] state  KEYS[2] result  KEYS[3] cdr_due  KEYS[4] counts  KEYS[5] retry
--          A `next` with `callback` (the agent's disposition asked for one) waits in the
--          callbacks set instead, its entry's caller the callback's owner (FEED).
-- KEYS[6] meta   KEYS[7] running KEYS[8] wake   KEYS[9] callbacks
-- KEYS[10..] callees' caps hashes (see uncount)
-- ARGV[1] items (JSON list)  ARGV[2] campaign_id
-- Returns the rows whose outcome was written.
local state_key, result_key, cdr_key, counts_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local retry_key, meta_key, running_key, wake_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local cid = ARGV[2]
-- A cancelled campaign tries nobody again.
local recycling = redis.call('HGET', meta_key, 'status') ~= Status.CANCELLED
local settled = {}
local first_due = nil
for _, item in ipairs(cjson.decode(ARGV[1])) do
  local row = tostring(item.row)
  local cur = redis.call('HGET', result_key, row)
  local job_id = cur and cjson.decode(cur)['job_id']
  if type(job_id) ~= 'string' then job_id = '' end
  if split_state(redis.call('HGET', state_key, row)) ~= State.DISPATCHED
      or job_id ~= item.job_id then
    redis.call('ZREM', cdr_key, row)
  elseif item.act == 'again' then
    redis.call('ZADD', cdr_key, 'XX', item.at, row)
  else
    patch_result(result_key, row, item.patch)
    local nxt = item.next
    local again = recycling and type(nxt) == 'table'
    emit_settled(row, item.act, redis.call('HGET', result_key, row), again)
    redis.call('ZREM', cdr_key, row)
    if item.act == 'found' then table.insert(settled, item.row) end
    local uncount = item.uncount
    if type(uncount) == 'table' then
      local caps_key = KEYS[uncount.key]
      for _, field in ipairs({'d:' .. uncount.day, 'm:' .. uncount.month}) do
        if tonumber(redis.call('HGET', caps_key, field) or '0') > 0 then
          redis.call('HINCRBY', caps_key, field, -1)
        end
      end
    end
    if again then
      set_state(state_key, counts_key, row, State.DISPATCHED, State.RETRY_WAIT)
      if nxt.callback then
        redis.call('ZADD', KEYS[9], nxt.at, nxt.member)
        emit('callback.scheduled', row, tonumber(cjson.decode(redis.call('HGET', result_key, row))['attempts']) or 0,
          {at = nxt.at, owner = nxt.owner or '', ['for'] = nxt.owner and nxt.owner ~= '' and 'me' or 'anyone'})
      else
        redis.call('ZADD', retry_key, nxt.at, nxt.member)
      end
      if not first_due or nxt.at < first_due then first_due = nxt.at end
    end
  end
end
if first_due then
  if redis.call('HGET', meta_key, 'status') == Status.DONE then
    redis.call('HSET', meta_key, 'status', Status.RUNNING)
    redis.call('SADD', running_key, cid)
    emit_status(Status.RUNNING)
  end
  -- The campaign's feeder sleeps until it is told: it feeds (and so releases the row) then.
  redis.call('RPUSH', wake_key, first_due)
  redis.call('LTRIM', wake_key, -16, -1)
end
return settled
