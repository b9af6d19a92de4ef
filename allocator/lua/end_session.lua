-- end_session.lua: take a reporter off duty, drop them from the on-duty radiographer tallies and
-- return every study held for them (pushed or patient-held) to the queue. Leases stay.
-- KEYS[1] onduty, [2] rgcount, [3] plan:<reporter>, [4] studies, [5] where, [6] leases,
--      [7] held, [8] hold_exp, [9] inhand, [10] queue, [11..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[11..] (tab-joined), [2] reporter id
-- Returns {'OK', study ids returned to the queue...} or {'SITES'} (Python's list of heads lists is stale)
local K = {onduty = KEYS[1], rgcount = KEYS[2], studies = KEYS[4], where = KEYS[5],
           leases = KEYS[6], held = KEYS[7], hold_exp = KEYS[8], inhand = KEYS[9],
           queue = KEYS[10]}
map_lists(K, 11, ARGV[1])
local rid = ARGV[2]
local todo = {}
for _, member in ipairs(redis.call('ZRANGEBYLEX', K.held, '[' .. rid .. TAB, '(' .. rid .. TAB .. '\255')) do
  local st = load_study(K, string.sub(member, #rid + 16))
  todo[#todo + 1] = st
end
if not lists_known(K, todo) then return {'SITES'} end
local out = {'OK'}
for _, st in ipairs(todo) do
  out_of_hand(K, st, 'H', rid)
  to_bucket(K, st)
  out[#out + 1] = st.study_id
end
if redis.call('HDEL', K.onduty, rid) == 1 then count_plan(K, KEYS[3], -1) end
return out
