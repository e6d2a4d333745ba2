import { createHash } from 'node:crypto';

// The Lua scripts of RedisSemaphore. Every change to a semaphore's state is one of them, run
// atomically by the server, on four keys that share one hash tag (one cluster slot):
//
//   meta     hash  permits (the stored count), free (permits free now, may be < 0 after adjust),
//                  token (the fencing counter), seq (arrival counter), epoch (who made this state)
//   queue    zset  queued tickets: score -priority, member "<seq, 16 digits>:<ticket>", so the
//                  order is priority (high first), then arrival
//   tickets  hash  ticket -> "q|<client>|<permits>|<queue member>" (queued) or
//                  "h|<client>|<permits>|<token>" (held)
//   clients  zset  client -> the server time (ms) its lease ends; renewed by its heartbeat
//
// ARGV[1] is the prefix of the clients' channels, ARGV[2] the epoch the client knows, ARGV[3] the
// client id. Each script but `init` first checks the epoch (a state lost to a restart or a
// failover answers LOST) and, but for `release`, that its own client is alive (EXPIRED otherwise).
// The uncontended path runs 7 commands in enqueue, 5 in release. The heartbeat, and an
// enqueue that cannot be granted at once, reap the clients whose lease ended (their queued tickets
// leave the queue, their held permits come back) — every instance heartbeats every leaseMs / 3, so
// a dead client is reaped within leaseMs / 3 of the end of its lease. Grants are
// made inside the script that frees the permits (`pump`), head first while the head fits (no
// barging), and pushed to the grantee's client on its channel: "g <ticket> <token>", or
// "n <ticket>" for a request that can never be granted (more than the stored permits).

const COMMON = `
local M, Q, T, C = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function split(s)
  local kind, client, permits, x = string.match(s, '^(%a)|([^|]*)|(%d+)|(.*)$')
  return kind, client, tonumber(permits), x
end
local function notify(client, message)
  redis.call('PUBLISH', ARGV[1] .. client, message)
end
-- Hands free permits to the head while it fits; writes and returns the free count (free and
-- total are read when not given).
local function pump(free, total)
  free = free or tonumber(redis.call('HGET', M, 'free'))
  total = total or tonumber(redis.call('HGET', M, 'permits'))
  while true do
    local head = redis.call('ZRANGE', Q, 0, 0)
    if #head == 0 then break end
    local member = head[1]
    local ticket = string.sub(member, 18)
    local entry = redis.call('HGET', T, ticket)
    if not entry then
      redis.call('ZREM', Q, member)
    else
      local kind, client, permits = split(entry)
      if permits > total then
        redis.call('ZREM', Q, member)
        redis.call('HDEL', T, ticket)
        notify(client, 'n ' .. ticket)
      elseif permits <= free then
        free = free - permits
        local token = redis.call('HINCRBY', M, 'token', 1)
        redis.call('ZREM', Q, member)
        redis.call('HSET', T, ticket, 'h|' .. client .. '|' .. permits .. '|' .. int(token))
        notify(client, 'g ' .. ticket .. ' ' .. int(token))
      else
        break
      end
    end
  end
  redis.call('HSET', M, 'free', int(free))
  return free
end
local function drop(dead)
  local all = redis.call('HGETALL', T)
  local freed = 0
  for i = 1, #all, 2 do
    local kind, client, permits, x = split(all[i + 1])
    if dead[client] then
      redis.call('HDEL', T, all[i])
      if kind == 'h' then freed = freed + permits else redis.call('ZREM', Q, x) end
    end
  end
  if freed > 0 then redis.call('HINCRBY', M, 'free', freed) end
end
local function reap(now)
  local gone = redis.call('ZRANGEBYSCORE', C, '-inf', '(' .. int(now))
  if #gone == 0 then return false end
  local dead = {}
  for _, client in ipairs(gone) do
    dead[client] = true
    redis.call('ZREM', C, client)
  end
  drop(dead)
  return true
end
local function state()
  local m = redis.call('HMGET', M, 'free', 'permits')
  return tonumber(m[1]), redis.call('ZCARD', Q), tonumber(m[2])
end
`;

/**
 * The check of `release` and `enqueue`: the epoch (a lost state answers LOST). One HMGET reads it
 * with the counts the script needs: leaves `free`, `stored` (permits) and `token` (the fencing
 * counter's last value) set. `release` does not check its client's lease: giving permits back is
 * right whether or not that lease has ended (a reaped client's tickets are gone: 'N'), and a client
 * has lost its leases locally before the server's lease ends (see RedisBackend.renewed).
 */
const EPOCH_CHECK = `
local m = redis.call('HMGET', M, 'epoch', 'free', 'permits', 'token')
if m[1] ~= ARGV[2] then return {'LOST'} end
local free, stored, token = tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
`;

/**
 * The checks of `enqueue`: the epoch, and this client's lease (an expired one is reaped with every
 * other, and answered EXPIRED). It reaps nobody else: a grant made at once needs no reaping, and a
 * request that must wait reaps first (see ENQUEUE). Leaves `now` set too.
 */
const LIGHT_PRELUDE = `${EPOCH_CHECK}
local now = now_ms()
local alive = redis.call('ZSCORE', C, ARGV[3])
if not alive or tonumber(alive) < now then
  reap(now)
  pump()
  return {'EXPIRED'}
end
`;

/** The checks every other script but `init` starts with; leaves `now` set. */
const PRELUDE = `
local now = now_ms()
if redis.call('HGET', M, 'epoch') ~= ARGV[2] then return {'LOST'} end
reap(now)
if not redis.call('ZSCORE', C, ARGV[3]) then
  pump()
  return {'EXPIRED'}
end
`;

/**
 * ARGV: prefix, candidate epoch, client, permits, leaseMs. Makes the state when there is none (a new
 * key, or one lost), registers the client. Returns {'OK', epoch, stored permits, free, waiting}.
 */
const INIT = `
local now = now_ms()
local epoch = redis.call('HGET', M, 'epoch')
if not epoch then
  redis.call('DEL', M, Q, T, C)
  redis.call('HSET', M, 'epoch', ARGV[2], 'permits', ARGV[4], 'free', ARGV[4], 'token', int(now * 1000), 'seq', '0')
  epoch = ARGV[2]
end
reap(now)
redis.call('ZADD', C, int(now + tonumber(ARGV[5])), ARGV[3])
pump()
local free, waiting, stored = state()
return {'OK', epoch, stored, free, waiting}
`;

/**
 * ARGV: prefix, epoch, client, expected permits, ticket, permits, -priority, maxWaiting (-1: no
 * limit). Grants at once when the permits are free and nobody of equal or higher priority is
 * queued; else refuses ('busy', 'full', 'never') or queues. A ticket already known answers its state
 * (a resent command changes nothing). Returns {'G', token, free, waiting} | {'Q', free, waiting} |
 * {'R', reason, waiting, free} | {'MISMATCH', stored}.
 */
const ENQUEUE = `${LIGHT_PRELUDE}
if stored ~= tonumber(ARGV[4]) then return {'MISMATCH', stored} end
local ticket = ARGV[5]
local existing = redis.call('HGET', T, ticket)
local waiting = redis.call('ZCARD', Q)
if existing then
  local kind, client, permits, x = split(existing)
  if kind == 'h' then return {'G', tonumber(x), free, waiting} end
  return {'Q', free, waiting}
end
local permits, maxw = tonumber(ARGV[6]), tonumber(ARGV[8])
if permits > stored then return {'R', 'never', waiting, free} end
-- Granted now when it fits and nobody of equal or higher priority is queued. The script runs
-- atomically, so the token read above is the counter's value: one HSET draws it.
local function now_or_queue()
  if permits > free then return false end
  if waiting > 0 and #redis.call('ZRANGEBYSCORE', Q, '-inf', ARGV[7], 'LIMIT', 0, 1) > 0 then return false end
  free = free - permits
  token = token + 1
  redis.call('HSET', M, 'free', int(free), 'token', int(token))
  redis.call('HSET', T, ticket, 'h|' .. ARGV[3] .. '|' .. permits .. '|' .. int(token))
  return true
end
if now_or_queue() then return {'G', token, free, waiting} end
-- It cannot be granted now: let the permits of dead clients come back first, then look again.
if reap(now) then
  pump()
  free, waiting = state()
  token = tonumber(redis.call('HGET', M, 'token'))
  if now_or_queue() then return {'G', token, free, waiting} end
end
if maxw == 0 then return {'R', 'busy', waiting, free} end
if maxw > 0 and waiting >= maxw then return {'R', 'full', waiting, free} end
local seq = redis.call('HINCRBY', M, 'seq', 1)
local member = string.format('%016d', seq) .. ':' .. ticket
redis.call('ZADD', Q, ARGV[7], member)
redis.call('HSET', T, ticket, 'q|' .. ARGV[3] .. '|' .. permits .. '|' .. member)
return {'Q', free, waiting + 1}
`;

/**
 * ARGV: prefix, epoch, client, ticket, permits (0: all). Withdraws a queued ticket, or gives back
 * (some of) a held one, then hands free permits to the head. Returns {'W'|'R'|'N', free, waiting}:
 * withdrawn, released, not known (already gone).
 */
const RELEASE = `${EPOCH_CHECK}
local ticket = ARGV[4]
local existing = redis.call('HGET', T, ticket)
local answer = 'N'
if existing then
  local kind, client, permits, x = split(existing)
  if kind == 'q' then
    redis.call('ZREM', Q, x)
    redis.call('HDEL', T, ticket)
    answer = 'W'
  else
    local n = tonumber(ARGV[5])
    if n == 0 or n >= permits then
      n = permits
      redis.call('HDEL', T, ticket)
    else
      redis.call('HSET', T, ticket, 'h|' .. client .. '|' .. (permits - n) .. '|' .. x)
    end
    free = free + n
    answer = 'R'
  end
end
local waiting = redis.call('ZCARD', Q)
if waiting > 0 and answer ~= 'N' then
  free = pump(free, stored)
  waiting = redis.call('ZCARD', Q)
elseif answer == 'R' then
  redis.call('HSET', M, 'free', int(free))
end
return {answer, free, waiting}
`;

/**
 * ARGV: prefix, epoch, client, leaseMs, tickets... Renews the client's lease and answers the state
 * of each ticket it names: 'q' queued, 'x' unknown, or the token of a held one. Returns
 * {'OK', free, waiting, stored, states...}.
 */
const HEARTBEAT = `${PRELUDE}
redis.call('ZADD', C, int(now + tonumber(ARGV[4])), ARGV[3])
pump()
local free, waiting, stored = state()
local answer = {'OK', free, waiting, stored}
local first = 5
while first <= #ARGV do
  local last = math.min(#ARGV, first + 999)
  local entries = redis.call('HMGET', T, unpack(ARGV, first, last))
  for i = 1, #entries do
    local entry = entries[i]
    if not entry then
      answer[#answer + 1] = 'x'
    else
      local kind, client, permits, x = split(entry)
      if kind == 'h' then answer[#answer + 1] = x else answer[#answer + 1] = 'q' end
    end
  end
  first = last + 1
end
return answer
`;

/**
 * ARGV: prefix, epoch, client, expected permits, delta. Changes the stored permits and the free
 * ones by `delta`, then hands free permits to the head. Returns {'OK', free, waiting, stored} |
 * {'MISMATCH', stored} | {'RANGE', stored}.
 */
const ADJUST = `${PRELUDE}
local free, waiting, stored = state()
if stored ~= tonumber(ARGV[4]) then return {'MISMATCH', stored} end
local delta = tonumber(ARGV[5])
if stored + delta < 0 then return {'RANGE', stored} end
redis.call('HSET', M, 'permits', int(stored + delta))
redis.call('HINCRBY', M, 'free', delta)
pump()
free, waiting, stored = state()
return {'OK', free, waiting, stored}
`;

/** ARGV: prefix, epoch, client. Withdraws and releases everything of the client, unregisters it. */
const CLOSE = `
local now = now_ms()
if redis.call('HGET', M, 'epoch') ~= ARGV[2] then return {'LOST'} end
reap(now)
redis.call('ZREM', C, ARGV[3])
drop({[ARGV[3]] = true})
pump()
return {'OK'}
`;

/** A script and its SHA1, for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, body: string): Script {
  const source = COMMON + body;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Every script of RedisSemaphore. */
export const SCRIPTS = {
  init: script('init', INIT),
  enqueue: script('enqueue', ENQUEUE),
  release: script('release', RELEASE),
  heartbeat: script('heartbeat', HEARTBEAT),
  adjust: script('adjust', ADJUST),
  close: script('close', CLOSE),
} as const;

/** The keys of the semaphore stored under `key`: one hash tag, so one cluster slot. */
export function keysOf(key: string): { keys: string[]; channelPrefix: string } {
  const base = `rxjs-permits:{${key}}`;
  return {
    keys: [base, `${base}:queue`, `${base}:tickets`, `${base}:clients`],
    channelPrefix: `${base}:client:`,
  };
}
