-- ANNOUNCE: an event that no row's transition tells of (an agent's presence changed on their
-- screen or by a supervisor), written to the campaign's outbox like the others.
-- ARGV[1] type  ARGV[2] data (JSON)  ARGV[3] row ('': the campaign's own)
local row = ARGV[3] ~= '' and ARGV[3] or nil
emit(ARGV[1], row, 0, cjson.decode(ARGV[2]))
return 1
