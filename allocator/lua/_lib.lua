-- _lib.lua: helpers prepended to every allocator script by allocator/scripts.py.
-- Every helper takes key names from the table K, which each script fills from KEYS only:
-- no helper (and no script) ever builds a key name.
-- Study states live in the "where" hash: 'W\t<bucket>' | 'L\t<reporter>' | 'H\t<reporter>\t<kind>'.
-- All buckets share one lex-ordered sorted set K.queue, members
-- '<bucket>\t<due13>\t<acquired13>\t<study>' (so a bucket's head is a ZRANGEBYLEX away);
-- heads lists score non-empty buckets by band x BAND + their head's due time, where band is
-- the bucket's work units in halves (allocator/ranking.py reading_half_units): each band is
-- one run of the list in due order, so the claim can rank by reading due (the later of due
-- and now + the band's reading time) and still stop early. List '*' has every bucket, list
-- '<entry id>' the buckets that scope entry allows (a study's JSON carries its bucket's
-- entry ids as 'be'). Scripts that touch the queue get every list's key at the end of KEYS
-- and the list ids, tab-joined in the same order, as ARGV[1]; K.lists maps id -> key.
local TAB = '\t'
local BAND = 1e13  -- ms: past any due time until the year 2286

local function band_of(st)
  return math.max(0, math.floor(st.work_units * 2 + 0.5))
end

-- A heads-list score as Redis should store it: all digits, whatever Lua's number format.
local function score_arg(x)
  return string.format('%.0f', x)
end

local function map_lists(K, first_key, ids)
  K.lists = {}
  local i = first_key
  for id in string.gmatch(ids, '[^\t]+') do
    K.lists[id] = KEYS[i]
    i = i + 1
  end
end

local function lists_of(st)
  local out = {'*'}
  for _, e in ipairs(st.be or {}) do out[#out + 1] = e end
  return out
end

-- True when every heads list the studies touch has its key among KEYS (else Python's view
-- of the scope entries is stale and nothing may be written).
local function lists_known(K, studies)
  for _, st in ipairs(studies) do
    for _, id in ipairs(lists_of(st)) do
      if not K.lists[id] then return false end
    end
  end
  return true
end

local function parse_where(w)
  if not w then return nil, nil, nil end
  local state = string.sub(w, 1, 1)
  local rest = string.sub(w, 3)
  if state == 'H' then
    local who, kind = string.match(rest, '^([^\t]*)\t(.*)$')
    return state, who, kind
  end
  return state, rest, nil
end

local function hot_of(st)
  if st.hot then return 1 end
  return 0
end

local function tally(K, rid, dleased, dheld, wu, hot)
  if dleased ~= 0 then redis.call('HINCRBY', K.inhand, rid .. TAB .. 'leased', dleased) end
  if dheld ~= 0 then redis.call('HINCRBY', K.inhand, rid .. TAB .. 'held', dheld) end
  if wu ~= 0 then redis.call('HINCRBYFLOAT', K.inhand, rid .. TAB .. 'wu', wu) end
  if hot ~= 0 then redis.call('HINCRBY', K.inhand, rid .. TAB .. 'hot', hot) end
end

-- The head of bucket b: its first queue member, or nil.
local function bucket_head(K, b)
  return redis.call('ZRANGEBYLEX', K.queue, '[' .. b .. TAB, '(' .. b .. TAB .. '\255', 'LIMIT', 0, 1)[1]
end

-- Put a study in the queue (its bucket st.b) as waiting.
local function to_bucket(K, st)
  redis.call('ZADD', K.queue, 0, st.b .. TAB .. st.m)
  redis.call('HSET', K.where, st.study_id, 'W' .. TAB .. st.b)
  for _, id in ipairs(lists_of(st)) do
    local heads = K.lists[id]
    local score = band_of(st) * BAND + st.due_ms
    local cur = redis.call('ZSCORE', heads, st.b)
    if not cur or score < tonumber(cur) then redis.call('ZADD', heads, score_arg(score), st.b) end
  end
end

-- Take a waiting study out of the queue (bucket st.b, as it was queued).
local function from_bucket(K, st)
  redis.call('ZREM', K.queue, st.b .. TAB .. st.m)
  local h = nil
  for _, id in ipairs(lists_of(st)) do
    local heads = K.lists[id]
    local cur = redis.call('ZSCORE', heads, st.b)
    -- the band as the list has it (a study's stored work units could round differently)
    local base = band_of(st) * BAND
    if cur then base = math.floor(tonumber(cur) / BAND) * BAND end
    if not cur or tonumber(cur) >= base + st.due_ms then
      if h == nil then h = bucket_head(K, st.b) or false end
      if h then
        local due = tonumber(string.sub(h, #st.b + 2, #st.b + 14))
        redis.call('ZADD', heads, score_arg(base + due), st.b)
      else
        redis.call('ZREM', heads, st.b)
      end
    end
  end
end

-- Take a leased or held study out of its reporter's hand and un-tally it.
local function out_of_hand(K, st, state, who)
  if state == 'L' then
    redis.call('ZREM', K.leases, st.study_id)
    tally(K, who, -1, 0, -st.work_units, -hot_of(st))
  elseif state == 'H' then
    redis.call('ZREM', K.held, who .. TAB .. st.k)
    redis.call('ZREM', K.hold_exp, st.study_id)
    tally(K, who, 0, -1, -st.work_units, -hot_of(st))
  end
end

local function lease_to(K, rid, st, expires)
  redis.call('ZADD', K.leases, expires, st.study_id)
  redis.call('HSET', K.where, st.study_id, 'L' .. TAB .. rid)
  tally(K, rid, 1, 0, st.work_units, hot_of(st))
end

local function hold_for(K, rid, st, kind, expires)
  redis.call('ZADD', K.held, 0, rid .. TAB .. st.k)
  if expires > 0 then redis.call('ZADD', K.hold_exp, expires, st.study_id) end
  redis.call('HSET', K.where, st.study_id, 'H' .. TAB .. rid .. TAB .. kind)
  tally(K, rid, 0, 1, st.work_units, hot_of(st))
end

local function load_study(K, sid)
  local raw = redis.call('HGET', K.studies, sid)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Add (delta 1) or remove (delta -1) an on-duty radiographer's plan from the per-bucket counts.
local function count_plan(K, plan_key, delta)
  if redis.call('HGET', plan_key, '\trg') ~= '1' then return end
  for _, b in ipairs(redis.call('HKEYS', plan_key)) do
    if string.sub(b, 1, 1) ~= TAB then redis.call('HINCRBY', K.rgcount, b, delta) end
  end
end

-- ---------------------------------------------------------------------------------------
