-- _lib.lua: helpers prepended to every allocator script by allocator/scripts.py.
-- Every helper takes key names from the table K, which each script fills from KEYS only:
-- no helper (and no script) ever builds a key name.
-- Study states live in the "where" hash: 'W\t<bucket>' | 'L\t<reporter>' | 'H\t<reporter>\t<kind>'.
local TAB = '\t'

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

-- Put a study in its bucket as waiting.
local function to_bucket(K, bkey, st)
  redis.call('ZADD', bkey, st.due_ms, st.m)
  redis.call('HSET', K.where, st.study_id, 'W' .. TAB .. st.b)
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

-- ---------------------------------------------------------------------------------------
