-- commit.lua: apply a structural change (profiles, scope entries, buckets, reporter plans) if
-- the epoch is still the one Python computed it from; keeps the per-bucket on-duty
-- radiographer counts right when an on-duty reporter's plan changes. Bumps the epoch.
-- KEYS[1] epoch, [2] profiles, [3] entries, [4] buckets, [5] onduty, [6] rgcount,
--      [7..] plan:<reporter> for each entry of payload.plans, in order
-- ARGV[1] expected epoch ('' when the network has none yet)
--      [2] payload JSON {"profiles": {rid: json|false}, "entries": {id: json},
--          "buckets": {bid: json}, "plans": [[rid, {"rg": bool, "lists": the heads
--          lists their claim walks (tab-joined), "b": [[bid, flags], ...]}
--          | false], ...], "extend": [[rid, [[bid, flags], ...]], ...]} where flags is
--          '<sub match><home><deferrable>' as 0/1 digits then the bucket's work units in
--          halves; "plans" replace a reporter's plan, "extend" adds new buckets to it
--          (KEYS[7..] list the "plans" reporters, then the "extend" ones)
-- Returns {'OK', new epoch} or {'STALE', current epoch}; a network's first epoch is the
-- server time in microseconds, so epochs never repeat after Redis loses its data
local K = {epoch = KEYS[1], profiles = KEYS[2], entries = KEYS[3], buckets = KEYS[4],
           onduty = KEYS[5], rgcount = KEYS[6]}
local cur = redis.call('GET', K.epoch) or ''
if cur ~= ARGV[1] then return {'STALE', cur} end
local p = cjson.decode(ARGV[2])

-- '\tmb' in a plan: per band of work units the best subspecialty/home bonus digits the
-- reporter can get there, OR-ed over the plan's buckets, as '<band>=<sub><home>' joined by
-- spaces; claim.lua reads it to stop walking a band early.
local function raise_band_bonuses(key, rows)
  local mb = {}
  for band, digits in string.gmatch(redis.call('HGET', key, '\tmb') or '', '(%d+)=(%d%d)') do
    mb[band] = digits
  end
  local changed = false
  for _, row in ipairs(rows) do
    local flags = row[2]
    local band = string.sub(flags, 4)
    local cur = mb[band] or ''
    local best = ''
    for d = 1, 2 do
      if string.sub(flags, d, d) == '1' or string.sub(cur, d, d) == '1' then best = best .. '1' else best = best .. '0' end
    end
    if best ~= cur then mb[band] = best; changed = true end
  end
  if changed then
    local parts = {}
    for band, digits in pairs(mb) do parts[#parts + 1] = band .. '=' .. digits end
    redis.call('HSET', key, '\tmb', table.concat(parts, ' '))
  end
end

for i, item in ipairs(p.plans) do
  local rid, new = item[1], item[2]
  local key = KEYS[6 + i]
  local on = redis.call('HEXISTS', K.onduty, rid) == 1
  if on then count_plan(K, key, -1) end
  redis.call('DEL', key)
  if new then
    local rg = '0'
    if new.rg then rg = '1' end
    redis.call('HSET', key, '\trg', rg, '\tlists', new.lists)
    local args = {}
    for _, row in ipairs(new.b) do
      args[#args + 1] = row[1]
      args[#args + 1] = row[2]
      if #args >= 400 then redis.call('HSET', key, unpack(args)); args = {} end
    end
    if #args > 0 then redis.call('HSET', key, unpack(args)) end
    raise_band_bonuses(key, new.b)
    if on then count_plan(K, key, 1) end
  end
end
for i, item in ipairs(p.extend or {}) do
  local rid, rows = item[1], item[2]
  local key = KEYS[6 + #p.plans + i]
  local count = redis.call('HEXISTS', K.onduty, rid) == 1 and redis.call('HGET', key, '\trg') == '1'
  raise_band_bonuses(key, rows)
  for _, row in ipairs(rows) do
    if redis.call('HSET', key, row[1], row[2]) == 1 and count then
      redis.call('HINCRBY', K.rgcount, row[1], 1)
    end
  end
end
for rid, json in pairs(p.profiles) do
  if json then redis.call('HSET', K.profiles, rid, json) else redis.call('HDEL', K.profiles, rid) end
end
for id, json in pairs(p.entries) do redis.call('HSET', K.entries, id, json) end
for bid, json in pairs(p.buckets) do redis.call('HSET', K.buckets, bid, json) end
if cur == '' then
  -- A network's first epoch comes from the clock, not from 1: after Redis loses everything,
  -- counting from 1 again would hand a process still caching an old snapshot an epoch equal
  -- to its own, and it would write studies into buckets the new structure does not have.
  local t = redis.call('TIME')
  local first = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', K.epoch, first)
  return {'OK', first}
end
return {'OK', tostring(redis.call('INCR', K.epoch))}
