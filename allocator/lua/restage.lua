-- restage.lua: move studies to a new bucket and/or widening stage -- widening as slack runs
-- out, or re-bucketing when a new scope entry changed signatures. A waiting study moves
-- bucket; a leased or held one keeps its reporter (its eligibility only widens) and goes to
-- the new bucket if it comes back.
-- KEYS[1] epoch, [2] studies, [3] where, [4] widen_at, [5] queue, [6] heads
-- ARGV[1] epoch the new buckets were computed at, then per study: study id, old bucket id,
--      old stage, new bucket id, new stage, next widening time ms ('' for none)
-- Returns {'STALE'} or {'OK', study ids changed...} (a study changed meanwhile is skipped)
local K = {studies = KEYS[2], where = KEYS[3], queue = KEYS[5], heads = KEYS[6]}
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return {'STALE'} end
local out = {'OK'}
for i = 2, #ARGV, 6 do
  local sid, oldb, olds = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local newb, news, wat = ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5]
  local st = load_study(K, sid)
  if st and st.b == oldb and tonumber(st.widening_stage) == olds then
    local state = parse_where(redis.call('HGET', K.where, sid))
    if state == 'W' and oldb ~= newb then from_bucket(K, oldb, st) end
    st.b = newb
    st.widening_stage = news
    redis.call('HSET', K.studies, sid, cjson.encode(st))
    if state == 'W' and oldb ~= newb then to_bucket(K, st) end
    if wat == '' then redis.call('ZREM', KEYS[4], sid) else redis.call('ZADD', KEYS[4], wat, sid) end
    out[#out + 1] = sid
  end
end
return out
