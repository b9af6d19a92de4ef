-- snapshot.lua: the network structure read atomically, so Python computes plans and buckets
-- from one consistent epoch.
-- KEYS[1] epoch, KEYS[2] profiles, KEYS[3] entries, KEYS[4] buckets
-- ARGV: none
-- Returns {epoch or '', profiles HGETALL, entries HGETALL, buckets HGETALL}
return {
  redis.call('GET', KEYS[1]) or '',
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('HGETALL', KEYS[4]),
}
