/**
 * The Lua scripts a Redis routing store runs: each one step of routing state, atomic on the server, and each
 * announcing what it changed on the cluster's notice channel in the same step. Keys are named by `clusterKeys`;
 * scripts that walk the gateways build peer keys from the prefix (one Redis, not Redis Cluster).
 *
 * Per gateway: `gw:<id>` (presence, PX ttl), `gw:<id>:open` (`<session>\n<instance>` -> count, `_v` -> the
 * gateway's write version; PX ttl), `gw:<id>:load` (instance -> count; PX ttl). Shared: `gateways` (set of ids),
 * `own` (session -> its own instance), `slots` (instances holding a MAX_INSTANCES slot), `changed` (instance ->
 * last bind/unbind, ms), `cv` (version of own + slots), `epoch` (set once; missing when Redis lost its data).
 */

/** Every key and the channel of one cluster (`te:<GATEWAY_NAME>:`), and this gateway's own keys. */
export function clusterKeys(clusterName: string, gatewayId: string) {
  const prefix = `te:${clusterName}:`;
  return {
    prefix,
    channel: `${prefix}notices`,
    presence: `${prefix}gw:${gatewayId}`,
    open: `${prefix}gw:${gatewayId}:open`,
    load: `${prefix}gw:${gatewayId}:load`,
    gateways: `${prefix}gateways`,
    own: `${prefix}own`,
    slots: `${prefix}slots`,
    changed: `${prefix}changed`,
    cv: `${prefix}cv`,
    epoch: `${prefix}epoch`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

/** Writes one of this gateway's counts (absolute, so a repeated or reordered write cannot drift). */
const PUT_BODY = `
local field = ARGV[2] .. '\\n' .. ARGV[3]
if ARGV[4] == '0' then redis.call('HDEL', KEYS[1], field) else redis.call('HSET', KEYS[1], field, ARGV[4]) end
if ARGV[5] == '0' then redis.call('HDEL', KEYS[2], ARGV[3]) else redis.call('HSET', KEYS[2], ARGV[3], ARGV[5]) end
redis.call('HSET', KEYS[1], '_v', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
local prev = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
if tonumber(ARGV[6]) > prev then redis.call('HSET', KEYS[3], ARGV[3], ARGV[6]) end
redis.call('PUBLISH', ARGV[9], cjson.encode({k='open', g=ARGV[1], v=ARGV[7], s=ARGV[2], i=ARGV[3], c=tonumber(ARGV[4]), t=tonumber(ARGV[6])}))
return 1`;

/**
 * KEYS: open, load, changed. ARGV: gateway, session, instance, count (this gateway's, after), load (this
 * gateway's on the instance, after), nowMs, version, ttlMs, channel.
 */
export const PUT = PUT_BODY;

/**
 * PUT only if the instance's load over every live gateway stays within ARGV[10] (the others' loads summed
 * here plus this gateway's after the bind). KEYS as PUT plus the gateways set; ARGV as PUT plus max, prefix.
 */
export const PUT_WITHIN = `
local others = 0
for _, gid in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if gid ~= ARGV[1] and redis.call('EXISTS', ARGV[11] .. 'gw:' .. gid) == 1 then
    others = others + tonumber(redis.call('HGET', ARGV[11] .. 'gw:' .. gid .. ':load', ARGV[3]) or '0')
  end
end
if others + tonumber(ARGV[5]) > tonumber(ARGV[10]) then return 0 end
${PUT_BODY}`;

/**
 * Refreshes this gateway's presence and key TTLs and lists the live gateways with their write versions,
 * removing the keys of those whose presence expired. KEYS: presence, open, load, gateways, cv, epoch.
 * ARGV: gateway, presence JSON, ttlMs, prefix. Returns {epoch or false, cv, {id, presence, version, ...}}.
 */
export const HEARTBEAT = `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
local out = {}
for _, gid in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local p = redis.call('GET', ARGV[4] .. 'gw:' .. gid)
  if p then
    table.insert(out, gid)
    table.insert(out, p)
    table.insert(out, redis.call('HGET', ARGV[4] .. 'gw:' .. gid .. ':open', '_v') or '-1')
  else
    redis.call('SREM', KEYS[4], gid)
    redis.call('DEL', ARGV[4] .. 'gw:' .. gid .. ':open', ARGV[4] .. 'gw:' .. gid .. ':load')
  end
end
return {redis.call('GET', KEYS[6]) or false, redis.call('GET', KEYS[5]) or '0', out}`;

/**
 * Writes this gateway's whole share anew (after a connect or an outage) and, when Redis's epoch is not the one
 * this gateway last registered under (Redis lost its data), puts back the shared facts it knows.
 * KEYS: presence, open, load, gateways, epoch, own, slots, cv. ARGV: gateway, presence JSON, ttlMs, version,
 * epoch candidate, epoch last registered under ('' if none), channel, then three counted lists: open
 * (field, count)*, load (instance, count)*, own (session, instance)*, slots (instance)*.
 * Returns {epoch, 1 if the shared facts were put back else 0}.
 */
export const REGISTER = `
redis.call('DEL', KEYS[2], KEYS[3])
local at = 8
local n = tonumber(ARGV[at]) at = at + 1
for i = 1, n do redis.call('HSET', KEYS[2], ARGV[at], ARGV[at + 1]) at = at + 2 end
redis.call('HSET', KEYS[2], '_v', ARGV[4])
n = tonumber(ARGV[at]) at = at + 1
for i = 1, n do redis.call('HSET', KEYS[3], ARGV[at], ARGV[at + 1]) at = at + 2 end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[1])
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  redis.call('SET', KEYS[5], ARGV[5])
  epoch = ARGV[5]
end
local restored = 0
n = tonumber(ARGV[at]) at = at + 1
local ownAt = at
at = at + 2 * n
local slotsN = tonumber(ARGV[at])
if epoch ~= ARGV[6] then
  for i = 1, n do redis.call('HSETNX', KEYS[6], ARGV[ownAt + 2 * (i - 1)], ARGV[ownAt + 2 * (i - 1) + 1]) end
  for i = 1, slotsN do redis.call('SADD', KEYS[7], ARGV[at + i]) end
  redis.call('INCR', KEYS[8])
  restored = 1
end
redis.call('PUBLISH', ARGV[7], cjson.encode({k='gw', g=ARGV[1], v=ARGV[4]}))
return {epoch, restored}`;

/**
 * Everything, read atomically. KEYS: gateways, own, slots, changed, cv, epoch. ARGV: prefix. Returns
 * {epoch or false, cv, {id, presence, {field, count, ...}, ...}, {session, instance, ...}, {slot, ...},
 * {instance, ms, ...}}.
 */
export const SNAPSHOT = `
local gws = {}
for _, gid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local p = redis.call('GET', ARGV[1] .. 'gw:' .. gid)
  if p then
    table.insert(gws, gid)
    table.insert(gws, p)
    table.insert(gws, redis.call('HGETALL', ARGV[1] .. 'gw:' .. gid .. ':open'))
  end
end
return {redis.call('GET', KEYS[6]) or false, redis.call('GET', KEYS[5]) or '0', gws, redis.call('HGETALL', KEYS[2]),
  redis.call('SMEMBERS', KEYS[3]), redis.call('HGETALL', KEYS[4])}`;

/** KEYS: own, cv. ARGV: session, instance ('' to forget), channel. */
export const ASSIGN = `
if ARGV[2] == '' then
  if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local cv = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], cjson.encode({k='own', s=ARGV[1], i=ARGV[2], cv=cv}))
return 1`;

/**
 * KEYS: slots, cv. ARGV: instance, max (0 frees the slot), channel. Returns {1 when the instance holds a slot
 * after, the cv of this change or -1 when nothing changed}.
 */
export const SLOT = `
if ARGV[2] == '0' then
  if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return {0, -1} end
else
  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, -1} end
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {0, -1} end
  redis.call('SADD', KEYS[1], ARGV[1])
end
local cv = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], cjson.encode({k='slot', i=ARGV[1], on=ARGV[2] ~= '0', cv=cv}))
return {ARGV[2] == '0' and 0 or 1, cv}`;

/** A gateway leaves. KEYS: presence, open, load, gateways. ARGV: gateway, channel. */
export const BYE = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({k='bye', g=ARGV[1]}))
return 1`;
