-- restage.lua: move studies to a new bucket and/or widening stage -- widening as slack runs
-- out, or re-bucketing when a new scope entry changed signatures. A waiting study moves
-- bucket; a leased or held one keeps its reporter (its eligibility only widens) and goes to
-- the new bucket if it comes back.
-- KEYS[1] epoch, [2] studies, [3] where, [4] widen_at, [5..] bucket keys
-- ARGV[1] epoch the new buckets were computed at, then per study: study id, old bucket id,
--      old bucket key index, old stage, new bucket id, new bucket key index (indexes 1-based
--      among KEYS[5..]), new stage, next widening time ms ('' for none)
-- Returns {'STALE'} or {'OK', study ids changed...} (a study changed meanwhile is skipped)
local K = {studies = KEYS[2], where = KEYS[3]}
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return {'STALE'} end
local out = {'OK'}
for i = 2, #ARGV, 8 do
  local sid, oldb, oldk, olds = ARGV[i], ARGV[i + 1], KEYS[4 + tonumber(ARGV[i + 2])], tonumber(ARGV[i + 3])
  local newb, newk, news, wat = ARGV[i + 4], KEYS[4 + tonumber(ARGV[i + 5])], tonumber(ARGV[i + 6]), ARGV[i + 7]
  local st = load_study(K, sid)
  if st and st.b == oldb and tonumber(st.widening_stage) == olds then
    local state = parse_where(redis.call('HGET', K.where, sid))
    st.b = newb
    st.widening_stage = news
    redis.call('HSET', K.studies, sid, cjson.encode(st))
    if state == 'W' and oldb ~= newb then
      redis.call('ZREM', oldk, st.m)
      to_bucket(K, newk, st)
    end
    if wat == '' then redis.call('ZREM', KEYS[4], sid) else redis.call('ZADD', KEYS[4], wat, sid) end
    out[#out + 1] = sid
  end
end
return out
