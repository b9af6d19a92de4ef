-- requeue.lua: return leased or held studies to their buckets -- a reporter's release, lease
-- and hold expiry, or dropping holds a reporter may no longer take. Each study is checked
-- here against what Python read (bucket id) and against the mode's condition.
-- KEYS[1] studies, [2] where, [3] leases, [4] held, [5] hold_exp, [6] inhand,
--      [7..] bucket keys
-- ARGV[1] mode: 'release' (live lease of ARGV[2]) | 'expire' (lease or hold run out by
--      ARGV[3]) | 'unhold' (held for ARGV[2]), [2] reporter id or '', [3] now ms,
--      then per study: study id, bucket id, bucket key index (1-based among KEYS[7..])
-- Returns flat list of (study id, outcome 'ok'|'skip'|'retry', reporter it was with or '',
--      state it was in 'L'|'H'|'W'|'')
local K = {studies = KEYS[1], where = KEYS[2], leases = KEYS[3], held = KEYS[4],
           hold_exp = KEYS[5], inhand = KEYS[6]}
local mode, rid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 3 do
  local sid, bid, idx = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local st = load_study(K, sid)
  local state, who = parse_where(redis.call('HGET', K.where, sid))
  local outcome = 'skip'
  if st and st.b ~= bid then
    outcome = 'retry'
  elseif st then
    local ok = false
    if mode == 'release' then
      local exp = tonumber(redis.call('ZSCORE', K.leases, sid) or '0')
      ok = state == 'L' and who == rid and exp > now
    elseif mode == 'expire' then
      if state == 'L' then
        local exp = redis.call('ZSCORE', K.leases, sid)
        ok = exp ~= false and tonumber(exp) <= now
      elseif state == 'H' then
        local exp = redis.call('ZSCORE', K.hold_exp, sid)
        ok = exp ~= false and tonumber(exp) <= now
      end
    elseif mode == 'unhold' then
      ok = state == 'H' and who == rid
    end
    if ok then
      out_of_hand(K, st, state, who)
      to_bucket(K, KEYS[6 + idx], st)
      outcome = 'ok'
    end
  end
  out[#out + 1] = sid
  out[#out + 1] = outcome
  out[#out + 1] = who or ''
  out[#out + 1] = state or ''
end
return out
