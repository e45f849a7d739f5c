/**
 * The instance directory's Lua scripts: one record per instance that holds (or is getting) a container in the
 * cluster, changed only by these scripts, each atomic on the server and each announcing its change on the
 * directory's channel in the same step. Every change bumps `dirv`; the record written carries that version
 * (`v`), so a gateway's copy can tell a late notice from a newer read.
 *
 * A record (JSON in the `dir` hash, short keys): i instance, s `starting` | `running`, f fence (`<epoch>.<n>`,
 * unique per claim, also the container's LABEL_FENCE), o owner (GATEWAY_ID holding the claim or watching the
 * container), a claimedAtMs, and once running: c container id, h host, p port, u socket path, m machine (host name
 * of the gateway that made it: a Unix socket is only usable there), n engine host, t startedAtMs.
 *
 * A gateway is live while its presence key `gw:<id>` (the routing store's, refreshed by its heartbeat) exists.
 */

/** The directory's keys and channel in one cluster (`te:<GATEWAY_NAME>:`). */
export function directoryKeys(clusterName: string) {
  const prefix = `te:${clusterName}:`;
  return {
    prefix,
    dir: `${prefix}dir`,
    version: `${prefix}dirv`,
    fence: `${prefix}fence`,
    epoch: `${prefix}direpoch`,
    leader: `${prefix}leader`,
    gateways: `${prefix}gateways`,
    leaving: `${prefix}leaving`,
    channel: `${prefix}dir-notices`,
  };
}

export type DirectoryKeys = ReturnType<typeof directoryKeys>;

/** Sets the epoch when missing (Redis lost its data, or a new cluster) and returns it. KEYS[4] = epoch. */
const EPOCH = `
local epoch = redis.call('GET', KEYS[4])
if not epoch then redis.call('SET', KEYS[4], ARGV[1]) epoch = ARGV[1] end`;

/** Bumps dirv, writes `rec` (a table) with it and announces it. KEYS[1] dir, KEYS[2] dirv; `ch` the channel. */
const WRITE = `
local function write(id, rec, ch)
  local v = redis.call('INCR', KEYS[2])
  rec.v = v
  local raw = cjson.encode(rec)
  redis.call('HSET', KEYS[1], id, raw)
  redis.call('PUBLISH', ch, cjson.encode({v = v, i = id, r = raw}))
  return raw
end`;

/**
 * Claim an instance's start. KEYS: dir, dirv, fence, epoch. ARGV: epoch candidate, id, gateway, maxInstances,
 * nowMs, staleMs, prefix, channel. Returns {'claimed' | 'existing' | 'refused', record or '', epoch}.
 * A running record is returned as it is (whoever owns it: a dead owner's is adopted by the leader). A starting
 * one is taken over with a new fence when its owner is gone or it is older than staleMs; otherwise returned.
 * Without a record the claim counts against maxInstances (every record holds or is getting a container).
 */
export const CLAIM = `${EPOCH}${WRITE}
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if raw then
  local r = cjson.decode(raw)
  if r.s == 'running' then return {'existing', raw, epoch} end
  local live = r.o ~= ARGV[3] and redis.call('EXISTS', ARGV[7] .. 'gw:' .. r.o) == 1
  if live and tonumber(ARGV[5]) - r.a < tonumber(ARGV[6]) then return {'existing', raw, epoch} end
elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return {'refused', '', epoch}
end
local fence = epoch .. '.' .. redis.call('INCR', KEYS[3])
return {'claimed', write(ARGV[2], {i = ARGV[2], s = 'starting', f = fence, o = ARGV[3], a = tonumber(ARGV[5])}, ARGV[8]), epoch}`;

/**
 * A claimed start finished: the running record replaces the starting one only if the fence still matches.
 * KEYS: dir, dirv. ARGV: id, fence, running record JSON, channel. Returns the record written, or false.
 */
export const COMPLETE = `${WRITE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw or cjson.decode(raw).f ~= ARGV[2] then return false end
return write(ARGV[1], cjson.decode(ARGV[3]), ARGV[4])`;

/**
 * Drops a record if its fence matches, so nobody can release a newer container's record. KEYS: dir, dirv,
 * gateways. ARGV: id, fence, reason, '1' if expected (a decision, not a crash), mode, prefix, channel. Modes:
 * `any`; `idle` (only while no live gateway counts a session on it: the cluster's sleep); `dead` (only while its
 * owner is not live: the leader clearing a dead gateway's claim). Returns 1 when dropped, else 0.
 */
export const RELEASE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local r = cjson.decode(raw)
if r.f ~= ARGV[2] then return 0 end
if ARGV[5] == 'dead' and redis.call('EXISTS', ARGV[6] .. 'gw:' .. r.o) == 1 then return 0 end
if ARGV[5] == 'idle' then
  for _, gid in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if redis.call('EXISTS', ARGV[6] .. 'gw:' .. gid) == 1 then
      local n = tonumber(redis.call('HGET', ARGV[6] .. 'gw:' .. gid .. ':load', ARGV[1]) or '0')
      if n > 0 then return 0 end
    end
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[7], cjson.encode({v = v, i = ARGV[1], r = false, f = ARGV[2], d = ARGV[3], x = ARGV[4] == '1'}))
return 1`;

/**
 * A live gateway takes over the watch of a running container whose owner is gone. KEYS: dir, dirv. ARGV: id,
 * fence, new owner, prefix, channel. Returns the record written, or false (fence moved on, owner alive).
 */
export const ADOPT = `${WRITE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local r = cjson.decode(raw)
if r.f ~= ARGV[2] or redis.call('EXISTS', ARGV[4] .. 'gw:' .. r.o) == 1 then return false end
r.o = ARGV[3]
return write(ARGV[1], r, ARGV[5])`;

/**
 * Redis came back empty: a record a gateway still holds is written again, unless the instance has one already
 * (a newer claim). KEYS: dir, dirv, fence, epoch. ARGV: epoch candidate, id, record JSON, channel. Returns the
 * record written, or false.
 */
export const RESTORE = `${EPOCH}${WRITE}
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return false end
return write(ARGV[2], cjson.decode(ARGV[3]), ARGV[4])`;

/** Everything, atomically. KEYS: dir, dirv, fence, epoch. ARGV: epoch candidate. Returns {epoch, dirv, {id, record, ...}}. */
export const READ = `${EPOCH}
return {epoch, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HGETALL', KEYS[1])}`;

/** The version only (each poll). KEYS: dir, dirv, fence, epoch. ARGV: epoch candidate. Returns {epoch, dirv}. */
export const VERSION = `${EPOCH}
return {epoch, tonumber(redis.call('GET', KEYS[2]) or '0')}`;

/**
 * The upkeep lease: taken when free, kept (TTL refreshed) by its holder. KEYS: leader. ARGV: gateway, ttlMs.
 * Returns 1 while this gateway holds it.
 */
export const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** Gives the lease up if this gateway holds it. KEYS: leader. ARGV: gateway. */
export const LEASE_DROP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

/**
 * The live gateways (presence key present) and how far each is in leaving (`draining`, `drained`, or '').
 * KEYS: gateways, leaving. ARGV: prefix. Returns {id, mark, ...}.
 */
export const LIVE = `
local out = {}
for _, gid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'gw:' .. gid) == 1 then
    table.insert(out, gid)
    table.insert(out, redis.call('HGET', KEYS[2], gid) or '')
  else
    redis.call('HDEL', KEYS[2], gid)
  end
end
return out`;

/** This gateway's leaving mark: `draining`, `drained`, or '' to clear it. KEYS: leaving. ARGV: gateway, mark. */
export const MARK = `
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;
