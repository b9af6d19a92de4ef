-- end_session.lua: take a reporter off duty, drop them from the on-duty radiographer tallies and
-- return every study held for them (pushed or patient-held) to its bucket. Leases stay.
-- KEYS[1] onduty, [2] rgcount, [3] plan:<reporter>, [4] studies, [5] where, [6] leases,
--      [7] held, [8] hold_exp, [9] inhand, [10..] bucket keys of the held studies
-- ARGV[1] reporter id, then per held study: study id, bucket id, bucket key index (1-based
--      among KEYS[10..]) -- read by Python just before; checked here
-- Returns {'OK', study ids returned...} or {'RETRY'} when the held set changed meanwhile
local K = {onduty = KEYS[1], rgcount = KEYS[2], studies = KEYS[4], where = KEYS[5],
           leases = KEYS[6], held = KEYS[7], hold_exp = KEYS[8], inhand = KEYS[9]}
local rid = ARGV[1]
local n = (#ARGV - 1) / 3
local members = redis.call('ZRANGEBYLEX', K.held, '[' .. rid .. TAB, '(' .. rid .. TAB .. '\255')
if #members ~= n then return {'RETRY'} end
local todo = {}
for i = 1, n do
  local sid, bid, idx = ARGV[2 + (i - 1) * 3], ARGV[3 + (i - 1) * 3], tonumber(ARGV[4 + (i - 1) * 3])
  local st = load_study(K, sid)
  local state, who = parse_where(redis.call('HGET', K.where, sid))
  if not st or st.b ~= bid or state ~= 'H' or who ~= rid then return {'RETRY'} end
  todo[i] = {st, KEYS[9 + idx]}
end
local out = {'OK'}
for i = 1, n do
  local st, bkey = todo[i][1], todo[i][2]
  out_of_hand(K, st, 'H', rid)
  to_bucket(K, bkey, st)
  out[#out + 1] = st.study_id
end
if redis.call('HDEL', K.onduty, rid) == 1 then
  local raw = redis.call('GET', KEYS[3])
  if raw then
    local plan = cjson.decode(raw)
    if plan.rg then
      for _, row in ipairs(plan.b) do redis.call('HINCRBY', K.rgcount, row[1], -1) end
    end
  end
end
return out
