-- requeue.lua: return leased or held studies to the queue -- a reporter's release, lease and
-- hold expiry, or dropping holds a reporter may no longer take (checked per mode here).
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand, [7] queue,
--      [8] heads
-- ARGV[1] mode: 'release' (live lease of ARGV[2]) | 'expire' (lease or hold run out by
--      ARGV[3]) | 'unhold' (held for ARGV[2]), [2] reporter id or '', [3] now ms,
--      [4..] study ids
-- Returns flat list of (study id, reporter it was with, state it was in 'L'|'H') moved
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6], queue = KEYS[7], heads = KEYS[8]}
local mode, rid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
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
