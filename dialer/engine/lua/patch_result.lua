-- PATCH_RESULT: merge fields into a row's outcome record, if the row still exists (a campaign
-- deleted while its call record was being fetched stays deleted).
-- KEYS[1] state  KEYS[2] result   ARGV[1] row  ARGV[2] patch_json
-- Returns 1 patched, 0 the row is gone.
local state_key, result_key, row = KEYS[1], KEYS[2], ARGV[1]
if redis.call('HEXISTS', state_key, row) == 0 then return 0 end
patch_result(result_key, row, cjson.decode(ARGV[2]))
return 1
