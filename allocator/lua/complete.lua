-- complete.lua: a reporter finished a study they hold a live lease on; it leaves every structure.
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] patients,
--      [8] widen_at
-- ARGV[1] study id, [2] reporter id, [3] now ms
-- Returns 1 when completed, 0 when this reporter holds no live lease on it
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6]}
local sid, rid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local state, who = parse_where(redis.call('HGET', K.where, sid))
if state ~= 'L' or who ~= rid then return 0 end
local exp = redis.call('ZSCORE', K.leases, sid)
if not exp or tonumber(exp) <= now then return 0 end
local st = load_study(K, sid)
out_of_hand(K, st, 'L', rid)
redis.call('HDEL', K.where, sid)
redis.call('HDEL', K.studies, sid)
redis.call('ZREM', KEYS[8], sid)
if st.patient_key then redis.call('ZREM', KEYS[7], st.patient_key .. TAB .. sid) end
return 1
