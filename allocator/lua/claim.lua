-- claim.lua: hand one reporter their next study, atomically, in one call whatever the queue
-- length. First the studies held for them (pushed, or the same patient as an earlier claim)
-- that are still in their plan; else the best bucket head among their plan's buckets:
-- lowest due - subspecialty bonus - home bonus + radiographer deferral (deferral only for
-- deferrable buckets with an on-duty eligible radiographer and slack >= the minimum), ties
-- oldest acquired then study id. Bucket heads are walked in due order from K.heads and the
-- walk stops once no later head can win (its due minus the largest bonus is worse than the
-- best so far). Writes the lease and tallies, then holds the patient's other waiting studies
-- that are in this reporter's plan.
-- KEYS[1] onduty, [2] studies, [3] where, [4] leases, [5] held, [6] hold_exp, [7] inhand,
--      [8] rgcount, [9] patients, [10] queue, [11] heads, [12] plan:<reporter>
-- ARGV[1] reporter id, [2] now ms, [3] lease ms, [4] subspecialty bonus ms, [5] home site
--      bonus ms, [6] radiographer deferral ms, [7] deferral min slack ms, [8] patient hold ms
-- Returns {'OFFDUTY'} | {} when nothing is eligible |
--      {study id, via 'push'|'patient'|'queue', lease expiry ms, reason JSON}
local K = {onduty = KEYS[1], studies = KEYS[2], where = KEYS[3], leases = KEYS[4],
           held = KEYS[5], hold_exp = KEYS[6], inhand = KEYS[7], rgcount = KEYS[8],
           patients = KEYS[9], queue = KEYS[10], heads = KEYS[11], plan = KEYS[12]}
local rid = ARGV[1]
if redis.call('HEXISTS', K.onduty, rid) == 0 then return {'OFFDUTY'} end
local now, lease_ms = tonumber(ARGV[2]), tonumber(ARGV[3])
local sub_bonus, home_bonus = tonumber(ARGV[4]), tonumber(ARGV[5])
local deferral, min_slack, hold_ms = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local max_bonus = sub_bonus + home_bonus

local function bonuses(flags)
  local sb, hb = 0, 0
  if string.sub(flags, 1, 1) == '1' then sb = sub_bonus end
  if string.sub(flags, 2, 2) == '1' then hb = home_bonus end
  return sb, hb
end

local function result(st, via, reason)
  local expires = now + lease_ms
  lease_to(K, rid, st, expires)
  reason.stage = st.widening_stage
  reason.due_at_ms = st.due_ms
  reason.slack_minutes = math.floor((st.due_ms - now) / 6000 + 0.5) / 10
  -- the same patient's other waiting studies this reporter may take are held for them
  local grouped = {}
  if st.patient_key then
    local pk = st.patient_key
    for _, member in ipairs(redis.call('ZRANGEBYLEX', K.patients, '[' .. pk .. TAB, '(' .. pk .. TAB .. '\255')) do
      local sid = string.sub(member, #pk + 2)
      if sid ~= st.study_id then
        local state, bid = parse_where(redis.call('HGET', K.where, sid))
        if state == 'W' and redis.call('HEXISTS', K.plan, bid) == 1 then
          local sib = load_study(K, sid)
          from_bucket(K, bid, sib)
          hold_for(K, rid, sib, 'patient', now + hold_ms)
          grouped[#grouped + 1] = sid
        end
      end
    end
  end
  if #grouped > 0 then reason.patient_held = grouped end
  return {st.study_id, via, tostring(expires), cjson.encode(reason)}
end

-- 1. studies held for this reporter, most urgent first
local held = redis.call('ZRANGEBYLEX', K.held, '[' .. rid .. TAB, '(' .. rid .. TAB .. '\255', 'LIMIT', 0, 16)
for _, member in ipairs(held) do
  local sid = string.sub(member, #rid + 16)
  local st = load_study(K, sid)
  local state, who, kind = parse_where(redis.call('HGET', K.where, sid))
  local flags = st and redis.call('HGET', K.plan, st.b)
  if flags and state == 'H' and who == rid then
    out_of_hand(K, st, 'H', rid)
    local rule, via = 'push', 'push'
    if kind == 'patient' then rule, via = 'patient-group', 'patient' end
    local sb, hb = bonuses(flags)
    return result(st, via, {rule = rule, heads_compared = 0, heads_scanned = 0,
      score = {due = st.due_ms, subspecialty_bonus = sb, home_site_bonus = hb, radiographer_deferral = 0}})
  end
end

-- 2. the best bucket head among the plan's buckets, walking heads in due order
local best_b, best_tail, best_eff, best_due, best_sb, best_hb, best_def
local compared, scanned, offset, chunk = 0, 0, 0, 64
local done = false
while not done do
  local heads = redis.call('ZRANGE', K.heads, offset, offset + chunk - 1, 'WITHSCORES')
  if #heads == 0 then break end
  local bids = {}
  for j = 1, #heads, 2 do bids[#bids + 1] = heads[j] end
  local flags = redis.call('HMGET', K.plan, unpack(bids))
  for j = 1, #bids do
    local b, due = bids[j], tonumber(heads[2 * j])
    if best_b and due - max_bonus > best_eff then done = true; break end
    scanned = scanned + 1
    local f = flags[j]
    if f then
      compared = compared + 1
      local sb, hb = bonuses(f)
      local def = 0
      if string.sub(f, 3, 3) == '1' and due - now >= min_slack then
        if tonumber(redis.call('HGET', K.rgcount, b) or '0') > 0 then def = deferral end
      end
      local eff = due - sb - hb + def
      -- member tail: '<acquired13>\t<study>' -- the tie-break order
      local tail = nil
      if best_b and eff == best_eff then tail = string.sub(bucket_head(K, b), #b + 16) end
      if not best_b or eff < best_eff or (eff == best_eff and tail < best_tail) then
        best_b, best_eff, best_due, best_sb, best_hb, best_def = b, eff, due, sb, hb, def
        best_tail = tail or string.sub(bucket_head(K, b), #b + 16)
      end
    end
  end
  offset = offset + chunk
end
if not best_b then return {} end
local st = load_study(K, string.sub(best_tail, 15))
from_bucket(K, best_b, st)
return result(st, 'queue', {
  rule = 'most-urgent', heads_compared = compared, heads_scanned = scanned,
  score = {due = best_due, subspecialty_bonus = best_sb, home_site_bonus = best_hb,
           radiographer_deferral = best_def, effective = best_eff}})
