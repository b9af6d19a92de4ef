-- remove.lua: studies reported outside, outsourced or cancelled leave every structure
-- (bucket, lease, hold, patient index, widening schedule), un-tallying whoever had them.
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] patients,
--      [8] widen_at, [9..] bucket keys
-- ARGV per study: study id, bucket id ('' if absent when read), bucket key index (0 if none)
-- Returns {'OK', removed count} or {'RETRY'} when a study's bucket changed since Python read it
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6]}
local todo = {}
for i = 1, #ARGV, 3 do
  local sid, bid, idx = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local st = load_study(K, sid)
  if st then
    if st.b ~= bid then return {'RETRY'} end
    todo[#todo + 1] = {st, idx}
  end
end
for _, item in ipairs(todo) do
  local st, idx = item[1], item[2]
  local sid = st.study_id
  local state, who = parse_where(redis.call('HGET', K.where, sid))
  if state == 'W' then
    redis.call('ZREM', KEYS[8 + idx], st.m)
  else
    out_of_hand(K, st, state, who)
  end
  redis.call('HDEL', K.where, sid)
  redis.call('HDEL', K.studies, sid)
  redis.call('ZREM', KEYS[8], sid)
  if st.patient_key then redis.call('ZREM', KEYS[7], st.patient_key .. TAB .. sid) end
end
return {'OK', #todo}
