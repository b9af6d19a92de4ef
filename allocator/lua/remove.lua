-- remove.lua: studies reported outside, outsourced or cancelled leave every structure
-- (queue, lease, hold, patient index, widening schedule), un-tallying whoever had them.
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] queue,
--      [8] heads, [9] patients, [10] widen_at
-- ARGV: study ids
-- Returns the number of studies removed
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6], queue = KEYS[7], heads = KEYS[8]}
local n = 0
for _, sid in ipairs(ARGV) do
  local st = load_study(K, sid)
  if st then
    local state, who = parse_where(redis.call('HGET', K.where, sid))
    if state == 'W' then from_bucket(K, who, st) else out_of_hand(K, st, state, who) end
    redis.call('HDEL', K.where, sid)
    redis.call('HDEL', K.studies, sid)
    redis.call('ZREM', KEYS[10], sid)
    if st.patient_key then redis.call('ZREM', KEYS[9], st.patient_key .. TAB .. sid) end
    n = n + 1
  end
end
return n
