-- restage.lua: move studies to a new bucket and/or widening stage -- widening as slack runs
-- out, or re-bucketing when a new scope entry changed signatures. A waiting study moves
-- bucket; a leased or held one keeps its reporter (its eligibility only widens) and goes to
-- the new bucket if it comes back.
-- KEYS[1] epoch, [2] studies, [3] where, [4] widen_at, [5] queue, [6..] every heads list
-- ARGV[1] ids of the heads lists in KEYS[6..] (tab-joined), [2] epoch the new buckets were
--      computed at, then per study: study id, old bucket id, old stage, new bucket id, new
--      stage, next widening time ms ('' for none), the new bucket's entry ids (tab-joined)
-- Returns {'STALE'} or {'OK', study ids changed...} (a study changed meanwhile is skipped)
local K = {studies = KEYS[2], where = KEYS[3], queue = KEYS[5]}
map_lists(K, 6, ARGV[1])
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[2] then return {'STALE'} end
local studies = {}
for i = 3, #ARGV, 7 do
  local st = load_study(K, ARGV[i])
  if st then studies[#studies + 1] = st end
  local be = {}
  for e in string.gmatch(ARGV[i + 6], '[^\t]+') do be[#be + 1] = e end
  studies[#studies + 1] = {be = be}
end
if not lists_known(K, studies) then return {'STALE'} end
local out = {'OK'}
for i = 3, #ARGV, 7 do
  local sid, oldb, olds = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local newb, news, wat = ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5]
  local st = load_study(K, sid)
  if st and st.b == oldb and tonumber(st.widening_stage) == olds then
    local state = parse_where(redis.call('HGET', K.where, sid))
    if state == 'W' and oldb ~= newb then from_bucket(K, st) end
    local be = {}
    for e in string.gmatch(ARGV[i + 6], '[^\t]+') do be[#be + 1] = e end
    st.be = be
    st.b = newb
    st.widening_stage = news
    redis.call('HSET', K.studies, sid, cjson.encode(st))
    if state == 'W' and oldb ~= newb then to_bucket(K, st) end
    if wat == '' then redis.call('ZREM', KEYS[4], sid) else redis.call('ZADD', KEYS[4], wat, sid) end
    out[#out + 1] = sid
  end
end
return out
