-- FORGET_IF_SETTLED: stop polling a campaign's call records only if nothing is due:
-- checked and removed in one step, so a row FINISH adds meanwhile is never orphaned.
-- KEYS[1] records  KEYS[2] cdr_due  KEYS[3] reconcile   ARGV[1] campaign_id
-- Returns 1 removed, 0 kept.
local records_key, cdr_key, reconcile_key = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', cdr_key, reconcile_key) > 0 then return 0 end
return redis.call('SREM', records_key, ARGV[1])
