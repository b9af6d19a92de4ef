-- start_session.lua: put a reporter on duty and count them in the on-duty radiographer tally
-- of every bucket they may report (once, however often the session is started).
-- KEYS[1] onduty, [2] rgcount, [3] plan:<reporter>
-- ARGV[1] reporter id, [2] session kind
-- Returns 1 when the reporter came on duty, 0 when they already were
local K = {rgcount = KEYS[2]}
local was = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if was then return 0 end
count_plan(K, KEYS[3], 1)
return 1
