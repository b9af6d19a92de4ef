-- requeue.lua: return leased or held studies to the queue -- a reporter's release, lease and
-- hold expiry, or dropping holds a reporter may no longer take (checked per mode here).
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] queue,
--      [8..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[8..] (tab-joined), [2] mode: 'release' (live lease of ARGV[3])
--      | 'expire' (lease or hold run out by ARGV[4]) | 'unhold' (held for ARGV[3]),
--      [3] reporter id or '', [4] now ms, [5..] study ids
-- Returns {'OK', then flat (study id, reporter it was with, state it was in 'L'|'H') moved}
--      or {'SITES'} (Python's list of heads lists is stale; nothing was changed)
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6], queue = KEYS[7]}
map_lists(K, 8, ARGV[1])
local mode, rid, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local studies = {}
for i = 5, #ARGV do
  local st = load_study(K, ARGV[i])
  if st then studies[#studies + 1] = st end
end
if not lists_known(K, studies) then return {'SITES'} end
local out = {'OK'}
for i = 5, #ARGV do
  local sid = ARGV[i]
  local state, who = parse_where(redis.call('HGET', K.where, sid))
  local ok = false
  if mode == 'release' then
    local exp = redis.call('ZSCORE', K.leases, sid)
    ok = state == 'L' and who == rid and exp ~= false and tonumber(exp) > now
  elseif mode == 'expire' then
    local exp = false
    if state == 'L' then exp = redis.call('ZSCORE', K.leases, sid)
    elseif state == 'H' then exp = redis.call('ZSCORE', K.hold_exp, sid) end
    ok = exp ~= false and tonumber(exp) <= now
  elseif mode == 'unhold' then
    ok = state == 'H' and who == rid
  end
  if ok then
    local st = load_study(K, sid)
    out_of_hand(K, st, state, who)
    to_bucket(K, st)
    out[#out + 1] = sid
    out[#out + 1] = who
    out[#out + 1] = state
  end
end
return out
