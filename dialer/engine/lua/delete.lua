-- DELETE: remove every key of a campaign that is not dialling, and its place in the shared
-- sets, in one step: a campaign started (or a row begun) meanwhile is never half deleted.
-- KEYS[1] meta  KEYS[2] counts  KEYS[3] campaigns  KEYS[4] running  KEYS[5] sleeping
-- KEYS[6] records  KEYS[7] parked_callers  KEYS[8..] every other key of the campaign
-- ARGV[1] campaign_id  ARGV[2] statuses it may be in (comma-separated)
-- ARGV[3] finished_before_ms: only if it finished before then (-1: whenever)
-- ARGV[4] parked_prefix (the lists of rows waiting for a busy caller)
-- Returns 1 deleted, Refusal.NO_CAMPAIGN, Refusal.WRONG_STATUS (not in an allowed status, or
-- finished too recently), Refusal.IN_FLIGHT (rows are still being dialled).
local meta_key, counts_key, campaigns_key = KEYS[1], KEYS[2], KEYS[3]
local running_key, sleeping_key, records_key = KEYS[4], KEYS[5], KEYS[6]
local parked_callers_key = KEYS[7]
local cid, allowed, before, parked_prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

local status = redis.call('HGET', meta_key, 'status')
if not status or status == Status.UPLOADING then return Refusal.NO_CAMPAIGN end
local ok = false
for s in string.gmatch(allowed, '[^,]+') do
  if s == status then ok = true end
end
if not ok then return Refusal.WRONG_STATUS end
if before >= 0 then
  local finished = tonumber(redis.call('HGET', meta_key, 'finished_at') or '')
    or tonumber(redis.call('HGET', meta_key, 'created_at'))
  if finished >= before then return Refusal.WRONG_STATUS end
end
-- A cancelled campaign lets calls already under way finish; their outcome is kept until then.
if tonumber(redis.call('HGET', counts_key, State.DIALING) or '0') > 0 then
  return Refusal.IN_FLIGHT
end
-- UNLINK: a big campaign's hashes are freed in the background, not while Redis waits.
for _, caller in ipairs(redis.call('SMEMBERS', parked_callers_key)) do
  redis.call('UNLINK', parked_prefix .. caller)
end
for i = 1, #KEYS do
  if i < 3 or i > 6 then redis.call('UNLINK', KEYS[i]) end
end
redis.call('ZREM', campaigns_key, cid)
redis.call('SREM', running_key, cid)
redis.call('ZREM', sleeping_key, cid)
redis.call('SREM', records_key, cid)
return 1
