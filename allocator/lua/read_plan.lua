-- read_plan.lua: a reporter's claim plan together with the epoch it is valid for (atomically).
-- KEYS[1] epoch, KEYS[2] plan:<reporter>
-- ARGV: none
-- Returns {epoch or '', plan JSON or ''}
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or ''}
