-- enqueue.lua: idempotent upsert of a batch of studies keyed by study id. New or moved waiting
-- studies go to their bucket; a hot (stroke/trauma) study that becomes waiting is pushed to
-- the eligible on-duty reporter with the fewest hot cases in hand, then the fewest work units
-- (then reporter id). A leased study keeps its lease; a held study keeps its hold unless its
-- bucket changed (then it goes back to the queue).
-- KEYS[1] epoch, [2] studies, [3] where, [4] patients, [5] held, [6] hold_exp, [7] inhand,
--      [8] onduty, [9] widen_at, [10] leases, [11] queue, [12..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[12..] (tab-joined), [2] epoch of the buckets,
--      [3] now ms, [4] push hold ms (0: no expiry), [5] '1' to push hot studies, then per
--      study: study JSON (with b, m, k and merged
--      widening_stage), old bucket id ('' if new when read), old stage, next widening time
--      ('' none), lease reporter id ('' none: rebuild uses it to restore a lease), lease
--      expiry ms, candidate count n, n candidate reporter ids (everyone eligible for the new
--      bucket, on duty or not)
-- Returns {'OK', pushes as flat (study id, reporter id, reason JSON)...} | {'STALE'} | {'RETRY'}
local K = {studies = KEYS[2], where = KEYS[3], patients = KEYS[4], held = KEYS[5],
           hold_exp = KEYS[6], inhand = KEYS[7], onduty = KEYS[8], widen_at = KEYS[9],
           leases = KEYS[10], queue = KEYS[11]}
map_lists(K, 12, ARGV[1])
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[2] then return {'STALE'} end
local now, push_ms, allow_push = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'

-- parse and check everything first: a Lua script is atomic but has no rollback
local items = {}
local i = 6
while i <= #ARGV do
  local raw = ARGV[i]
  local item = {raw = raw, new = cjson.decode(raw), oldb = ARGV[i + 1], olds = tonumber(ARGV[i + 2]),
                wat = ARGV[i + 3], lease_rid = ARGV[i + 4], lease_exp = tonumber(ARGV[i + 5]), cands = {}}
  local n = tonumber(ARGV[i + 6])
  for j = 1, n do item.cands[j] = ARGV[i + 6 + j] end
  i = i + 7 + n
  local old = load_study(K, item.new.study_id)
  if item.oldb == '' then
    if old then return {'RETRY'} end
  elseif not old or old.b ~= item.oldb or tonumber(old.widening_stage) ~= item.olds then
    return {'RETRY'}
  end
  if not lists_known(K, {item.new, old or item.new}) then return {'STALE'} end
  item.old = old
  items[#items + 1] = item
end

local function push(st, cands)
  local best, best_hot, best_wu
  local on = 0
  for _, rid in ipairs(cands) do
    if redis.call('HEXISTS', K.onduty, rid) == 1 then
      on = on + 1
      local hot = tonumber(redis.call('HGET', K.inhand, rid .. TAB .. 'hot') or '0')
      local wu = tonumber(redis.call('HGET', K.inhand, rid .. TAB .. 'wu') or '0')
      if not best or hot < best_hot or (hot == best_hot and (wu < best_wu or (wu == best_wu and rid < best))) then
        best, best_hot, best_wu = rid, hot, wu
      end
    end
  end
  if not best then return nil end
  local expires = 0
  if push_ms > 0 then expires = now + push_ms end
  hold_for(K, best, st, 'push', expires)
  return {st.study_id, best, cjson.encode({rule = 'push', urgency = st.urgency,
    eligible_on_duty = on, hot_in_hand = best_hot, work_units_in_hand = best_wu,
    due_at_ms = st.due_ms, hold_expires_ms = expires})}
end

local out = {'OK'}
local function wait_or_push(item, was_hot)
  local st = item.new
  if allow_push and st.hot and not was_hot then
    local p = push(st, item.cands)
    if p then
      for _, v in ipairs(p) do out[#out + 1] = v end
      return
    end
  end
  to_bucket(K, st)
end

for _, item in ipairs(items) do
  local new, old = item.new, item.old
  local sid = new.study_id
  local state, who = parse_where(redis.call('HGET', K.where, sid))
  if state == 'W' then from_bucket(K, old) end
  redis.call('HSET', K.studies, sid, item.raw)
  if old and old.patient_key and old.patient_key ~= new.patient_key then
    redis.call('ZREM', K.patients, old.patient_key .. TAB .. sid)
  end
  if new.patient_key then redis.call('ZADD', K.patients, 0, new.patient_key .. TAB .. sid) end
  if item.wat == '' then redis.call('ZREM', K.widen_at, sid) else redis.call('ZADD', K.widen_at, item.wat, sid) end
  if item.lease_rid ~= '' then
    if state == 'L' or state == 'H' then out_of_hand(K, old, state, who) end
    lease_to(K, item.lease_rid, new, item.lease_exp)
  elseif not state then
    wait_or_push(item, false)
  elseif state == 'W' then
    wait_or_push(item, old.hot)
  elseif state == 'L' then
    tally(K, who, 0, 0, new.work_units - old.work_units, hot_of(new) - hot_of(old))
  elseif state == 'H' then
    if new.b ~= old.b then
      out_of_hand(K, old, 'H', who)
      to_bucket(K, new)
    else
      redis.call('ZREM', K.held, who .. TAB .. old.k)
      redis.call('ZADD', K.held, 0, who .. TAB .. new.k)
      tally(K, who, 0, 0, new.work_units - old.work_units, hot_of(new) - hot_of(old))
    end
  end
end
return out
