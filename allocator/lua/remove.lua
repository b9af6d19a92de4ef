-- remove.lua: studies reported outside, outsourced or cancelled leave every structure
-- (queue, lease, hold, patient index, widening schedule), un-tallying whoever had them.
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] queue,
--      [8] patients, [9] widen_at, [10..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[10..] (tab-joined), [2..] study ids
-- Returns {'OK', number removed} or {'SITES'} (Python's list of heads lists is stale; nothing changed)
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6], queue = KEYS[7]}
map_lists(K, 10, ARGV[1])
local studies = {}
for i = 2, #ARGV do
  local st = load_study(K, ARGV[i])
  if st then studies[#studies + 1] = st end
end
if not lists_known(K, studies) then return {'SITES'} end
local n = 0
for i = 2, #ARGV do
  local sid = ARGV[i]
  local st = load_study(K, sid)
  if st then
    local state, who = parse_where(redis.call('HGET', K.where, sid))
    if state == 'W' then from_bucket(K, st) else out_of_hand(K, st, state, who) end
    redis.call('HDEL', K.where, sid)
    redis.call('HDEL', K.studies, sid)
    redis.call('ZREM', KEYS[9], sid)
    if st.patient_key then redis.call('ZREM', KEYS[8], st.patient_key .. TAB .. sid) end
    n = n + 1
  end
end
return {'OK', n}
