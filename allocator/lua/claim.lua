-- claim.lua: hand one reporter their next study, atomically. First the studies held for them
-- (pushed, or the same patient as an earlier claim) that are still within their plan; else
-- the best head among their eligible buckets: lowest due - subspecialty bonus - home bonus
-- + radiographer deferral (deferral only for deferrable buckets with an on-duty eligible
-- radiographer and slack >= the minimum), ties oldest acquired then study id (bucket member
-- order). Writes the lease, tallies, then holds the patient's other waiting studies that are
-- in this reporter's plan.
-- KEYS[1] epoch, [2] onduty, [3] studies, [4] where, [5] leases, [6] held, [7] hold_exp,
--      [8] inhand, [9] rgcount, [10] patients, [11..] the reporter's eligible bucket keys
-- ARGV[1] epoch the plan was read at, [2] reporter id, [3] now ms, [4] lease ms,
--      [5] radiographer deferral ms, [6] deferral min slack ms, [7] patient hold ms,
--      then per bucket (same order as KEYS[11..]): bucket id, subspecialty bonus ms,
--      home site bonus ms, deferrable '1'/'0'
-- Returns {'STALE'} | {'OFFDUTY'} | {} when nothing is eligible |
--      {study id, via 'push'|'patient'|'queue', lease expiry ms, reason JSON}
local K = {epoch = KEYS[1], onduty = KEYS[2], studies = KEYS[3], where = KEYS[4],
           leases = KEYS[5], held = KEYS[6], hold_exp = KEYS[7], inhand = KEYS[8],
           rgcount = KEYS[9], patients = KEYS[10]}
if (redis.call('GET', K.epoch) or '') ~= ARGV[1] then return {'STALE'} end
local rid = ARGV[2]
if redis.call('HEXISTS', K.onduty, rid) == 0 then return {'OFFDUTY'} end
local now, lease_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local deferral, min_slack, hold_ms = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local nb = #KEYS - 10
local plan = {}
for b = 1, nb do plan[ARGV[4 + b * 4]] = b end

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
        if state == 'W' and plan[bid] then
          local sib = load_study(K, sid)
          redis.call('ZREM', KEYS[10 + plan[bid]], sib.m)
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
  if st and state == 'H' and who == rid and plan[st.b] then
    out_of_hand(K, st, 'H', rid)
    local rule = 'push'
    local via = 'push'
    if kind == 'patient' then rule, via = 'patient-group', 'patient' end
    local o = 4 + plan[st.b] * 4
    return result(st, via, {rule = rule, heads_compared = 0, buckets = nb,
      score = {due = st.due_ms, subspecialty_bonus = tonumber(ARGV[o + 1]),
               home_site_bonus = tonumber(ARGV[o + 2]), radiographer_deferral = 0}})
  end
end

-- 2. the best head among the eligible buckets
local best_b, best_member, best_eff, best_due, best_sb, best_hb, best_def
local compared = 0
for b = 1, nb do
  local head = redis.call('ZRANGE', KEYS[10 + b], 0, 0, 'WITHSCORES')
  if head[1] then
    compared = compared + 1
    local due = tonumber(head[2])
    local o = 4 + b * 4
    local sb, hb = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2])
    local def = 0
    if ARGV[o + 3] == '1' and due - now >= min_slack then
      if tonumber(redis.call('HGET', K.rgcount, ARGV[o]) or '0') > 0 then def = deferral end
    end
    local eff = due - sb - hb + def
    if not best_b or eff < best_eff or (eff == best_eff and head[1] < best_member) then
      best_b, best_member, best_eff, best_due, best_sb, best_hb, best_def = b, head[1], eff, due, sb, hb, def
    end
  end
end
if not best_b then return {} end
redis.call('ZREM', KEYS[10 + best_b], best_member)
local sid = string.sub(best_member, 15)
local st = load_study(K, sid)
return result(st, 'queue', {
  rule = 'most-urgent', heads_compared = compared, buckets = nb,
  score = {due = best_due, subspecialty_bonus = best_sb, home_site_bonus = best_hb,
           radiographer_deferral = best_def, effective = best_eff}})
