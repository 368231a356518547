-- PATCH_RESULT: merge fields into a row's outcome record.
-- KEYS[1] result   ARGV[1] row  ARGV[2] patch_json   Returns 1.
patch_result(KEYS[1], ARGV[1], cjson.decode(ARGV[2]))
return 1
