-- claim.lua: hand one reporter their next study, atomically, in one call whatever the queue
-- length. First the studies held for them (pushed, or the same patient as an earlier claim)
-- that are still in their plan; else the best bucket head among their plan's buckets:
-- lowest reading due - subspecialty bonus - home bonus + radiographer deferral, where the
-- reading due is max(due, now + the bucket's work units x reading ms per unit) (the "modified
-- due date" rule, allocator/ranking.py reading_due) and deferral applies only to deferrable
-- buckets with an on-duty eligible radiographer and slack >= the minimum; ties go to the
-- earlier due, then the older acquisition, then the lower study id. Each heads list of the
-- reporter's plan (one per scope entry they hold, or the list of every bucket if they have no
-- entries) is walked band by band in due order, skipping buckets not in their plan (other
-- sites, required subspecialty) and leaving a band, or the list, once no later head can win
-- (see 2. below). Writes the lease and tallies, then
-- holds the patient's other waiting studies that are in this reporter's plan.
-- KEYS[1] onduty, [2] studies, [3] where, [4] leases, [5] held, [6] hold_exp, [7] inhand,
--      [8] rgcount, [9] patients, [10] queue, [11] plan:<reporter>, [12..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[12..] (tab-joined), [2] reporter id, [3] now ms, [4] lease ms,
--      [5] subspecialty bonus ms, [6] home site bonus ms, [7] radiographer deferral ms,
--      [8] deferral min slack ms, [9] patient hold ms, [10] reading ms per work unit
-- Returns {'OFFDUTY'} | {'SITES'} (Python's list of heads lists is stale) | {} when nothing is
--      eligible | {study id, via 'push'|'patient'|'queue', lease expiry ms, reason JSON}
local K = {onduty = KEYS[1], studies = KEYS[2], where = KEYS[3], leases = KEYS[4],
           held = KEYS[5], hold_exp = KEYS[6], inhand = KEYS[7], rgcount = KEYS[8],
           patients = KEYS[9], queue = KEYS[10], plan = KEYS[11]}
map_lists(K, 12, ARGV[1])
local rid = ARGV[2]
if redis.call('HEXISTS', K.onduty, rid) == 0 then return {'OFFDUTY'} end
local my_lists = {}
for id in string.gmatch(redis.call('HGET', K.plan, '\tlists') or '', '[^\t]+') do
  if not K.lists[id] then return {'SITES'} end
  my_lists[#my_lists + 1] = K.lists[id]
end
local now, lease_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local sub_bonus, home_bonus = tonumber(ARGV[5]), tonumber(ARGV[6])
local deferral, min_slack, hold_ms = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local reading_ms = tonumber(ARGV[10])

local function bonuses(flags)
  local sb, hb = 0, 0
  if string.sub(flags, 1, 1) == '1' then sb = sub_bonus end
  if string.sub(flags, 2, 2) == '1' then hb = home_bonus end
  return sb, hb
end

-- Lease st to the reporter (taking it out of the queue or out of their holds) and hold the
-- same patient's other waiting studies that are in their plan. Reads and checks first:
-- nothing is written if a heads list involved is unknown to Python's view.
local function result(st, via, reason)
  local sibs = {}
  if st.patient_key then
    local pk = st.patient_key
    for _, member in ipairs(redis.call('ZRANGEBYLEX', K.patients, '[' .. pk .. TAB, '(' .. pk .. TAB .. '\255')) do
      local sid = string.sub(member, #pk + 2)
      if sid ~= st.study_id then
        local state, bid = parse_where(redis.call('HGET', K.where, sid))
        if state == 'W' and redis.call('HEXISTS', K.plan, bid) == 1 then
          sibs[#sibs + 1] = load_study(K, sid)
        end
      end
    end
  end
  local touched = {st}
  for _, sib in ipairs(sibs) do touched[#touched + 1] = sib end
  if not lists_known(K, touched) then return {'SITES'} end

  if via == 'queue' then from_bucket(K, st) else out_of_hand(K, st, 'H', rid) end
  local expires = now + lease_ms
  lease_to(K, rid, st, expires)
  local grouped = {}
  for _, sib in ipairs(sibs) do
    from_bucket(K, sib)
    hold_for(K, rid, sib, 'patient', now + hold_ms)
    grouped[#grouped + 1] = sib.study_id
  end
  if #grouped > 0 then reason.patient_held = grouped end
  reason.stage = st.widening_stage
  reason.due_at_ms = st.due_ms
  reason.slack_minutes = math.floor((st.due_ms - now) / 6000 + 0.5) / 10
  return {st.study_id, via, tostring(expires), cjson.encode(reason)}
end

local function head_tail(b)
  return string.sub(bucket_head(K, b), #b + 16)
end

-- 1. studies held for this reporter, most urgent first
local held = redis.call('ZRANGEBYLEX', K.held, '[' .. rid .. TAB, '(' .. rid .. TAB .. '\255', 'LIMIT', 0, 16)
for _, member in ipairs(held) do
  local sid = string.sub(member, #rid + 16)
  local st = load_study(K, sid)
  local state, who, kind = parse_where(redis.call('HGET', K.where, sid))
  local flags = st and redis.call('HGET', K.plan, st.b)
  if flags and state == 'H' and who == rid then
    local rule, via = 'push', 'push'
    if kind == 'patient' then rule, via = 'patient-group', 'patient' end
    local sb, hb = bonuses(flags)
    return result(st, via, {rule = rule, heads_compared = 0, heads_scanned = 0,
      score = {due = st.due_ms, subspecialty_bonus = sb, home_site_bonus = hb, radiographer_deferral = 0}})
  end
end

-- 2. the best bucket head among the plan's buckets. Each heads list is one run per band of
-- work units, each in due order (_lib.lua). Within a band no later head can score below
-- max(due, now + the band's reading time) - the best bonus the reporter has in that band,
-- so once that bound cannot beat the best so far the walk jumps to the plan's next band, and
-- once even a band's reading time minus the plan's best bonus cannot, leaves the list.
-- commit.lua keeps the best bonus per band with the plan's rows ('\tmb'): a plan without it
-- has no buckets, and bands it does not name are never walked.
local band_bonus, bands, plan_bonus = {}, {}, 0
for band, digits in string.gmatch(redis.call('HGET', K.plan, '\tmb') or '', '(%d+)=(%d%d)') do
  local sb, hb = bonuses(digits)
  band = tonumber(band)
  band_bonus[band] = sb + hb
  bands[#bands + 1] = band
  if sb + hb > plan_bonus then plan_bonus = sb + hb end
end
table.sort(bands)
local function plan_band_after(band)
  for _, b in ipairs(bands) do
    if b > band then return b end
  end
  return nil
end

local best_b, best_tail, best_eff, best_due, best_rdue, best_sb, best_hb, best_def
local compared, scanned = 0, 0
for _, heads_key in ipairs(my_lists) do
  local start = bands[1]
  -- most walks stop within a few heads: fetch 4, then 8, 16, ... at a time
  local offset, chunk = 0, 4
  local band, allowance, bound_bonus = -1, 0, 0
  while start do
    local heads = redis.call('ZRANGEBYSCORE', heads_key, score_arg(start * BAND), '+inf',
      'WITHSCORES', 'LIMIT', offset, chunk)
    if #heads == 0 then break end
    local bids = {}
    for j = 1, #heads, 2 do bids[#bids + 1] = heads[j] end
    local flags = redis.call('HMGET', K.plan, unpack(bids))
    local jump = false
    for j = 1, #bids do
      local b, score = bids[j], tonumber(heads[2 * j])
      local hband = math.floor(score / BAND)
      local due = score - hband * BAND
      if hband ~= band then
        band, allowance, bound_bonus = hband, math.floor(hband * reading_ms / 2), band_bonus[hband]
        if best_b and now + allowance - plan_bonus > best_eff then start = nil; break end
      end
      local rdue = math.max(due, now + allowance)
      if not bound_bonus or (best_b and (rdue - bound_bonus > best_eff
          or (rdue - bound_bonus == best_eff and due > best_due))) then
        start, jump = plan_band_after(band), true
        break
      end
      scanned = scanned + 1
      local f = flags[j]
      if f then
        compared = compared + 1
        local sb, hb = bonuses(f)
        local def = 0
        -- the deferral only moves a head back: look it up only if the head could still win
        if string.sub(f, 3, 3) == '1' and due - now >= min_slack
            and (not best_b or rdue - sb - hb <= best_eff) then
          if tonumber(redis.call('HGET', K.rgcount, b) or '0') > 0 then def = deferral end
        end
        local eff = rdue - sb - hb + def
        -- ties go to the earlier due time (within a bucket the head has it, and overdue
        -- heads of one band tie on effective score), then the older acquisition, then the
        -- lower id: the head member's tail '<acquired13>\t<study>', fetched only when needed
        local tail = nil
        if best_b and eff == best_eff and due == best_due and b ~= best_b then
          best_tail = best_tail or head_tail(best_b)
          tail = head_tail(b)
        end
        if not best_b or eff < best_eff or (eff == best_eff and due < best_due)
            or (tail and tail < best_tail) then
          best_b, best_eff, best_due, best_rdue, best_sb, best_hb, best_def = b, eff, due, rdue, sb, hb, def
          best_tail = tail
        end
      end
    end
    if jump then
      offset, chunk = 0, 4
    else
      offset = offset + chunk
      if chunk < 64 then chunk = chunk * 2 end
    end
  end
end
if not best_b then return {} end
local st = load_study(K, string.sub(best_tail or head_tail(best_b), 15))
return result(st, 'queue', {
  rule = 'most-urgent', heads_compared = compared, heads_scanned = scanned,
  score = {due = best_due, reading_due = best_rdue, subspecialty_bonus = best_sb, home_site_bonus = best_hb,
           radiographer_deferral = best_def, effective = best_eff}})
