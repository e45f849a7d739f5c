/**
 * A gateway's copy of the instance directory, and how news from Redis is applied to it (no I/O here). Every
 * record carries the directory version it was written at, and a dropped record leaves a tombstone with the
 * version of its drop, so whatever order notices and full reads arrive in, an older fact never overwrites a newer
 * one. `contiguous` is the version up to which every notice was seen: behind Redis's, a full read is owed.
 */

/** One instance's claim on a container in the cluster. */
export interface DirectoryRecord {
  instanceId: string;
  state: "starting" | "running";
  /** Unique per claim (`<epoch>.<n>`); the container carries it as LABEL_FENCE. */
  fence: string;
  /** GATEWAY_ID holding the claim or watching the container. */
  owner: string;
  claimedAtMs: number;
  /** The directory version this record was written at. */
  version: number;
  containerId?: string;
  host?: string;
  port?: number;
  socketPath?: string;
  /** Host name of the machine the container was made from: its Unix socket is only usable there. */
  machine?: string;
  /** The engine host it runs on (several engine hosts). */
  hostName?: string;
  startedAtMs?: number;
}

/** Why a record went away, as its release said. */
export interface DropInfo {
  fence: string;
  reason: string;
  /** A decision (sleep, scale-down, stop), not a crash. */
  expected: boolean;
}

/** A record's JSON in Redis (short keys, see directory-scripts.ts). */
export function parseRecord(raw: string): DirectoryRecord {
  const r = JSON.parse(raw) as Record<string, any>;
  const record: DirectoryRecord = {
    instanceId: String(r.i),
    state: r.s === "running" ? "running" : "starting",
    fence: String(r.f),
    owner: String(r.o),
    claimedAtMs: Number(r.a) || 0,
    version: Number(r.v) || 0,
  };
  if (r.c !== undefined) record.containerId = String(r.c);
  if (r.h !== undefined) record.host = String(r.h);
  if (r.p !== undefined) record.port = Number(r.p);
  if (r.u !== undefined) record.socketPath = String(r.u);
  if (r.m !== undefined) record.machine = String(r.m);
  if (r.n !== undefined) record.hostName = String(r.n);
  if (r.t !== undefined) record.startedAtMs = Number(r.t);
  return record;
}

/** The JSON a script writes (it sets `v` itself). */
export function encodeRecord(record: Omit<DirectoryRecord, "version">): string {
  const r: Record<string, unknown> = { i: record.instanceId, s: record.state, f: record.fence, o: record.owner, a: record.claimedAtMs };
  if (record.containerId !== undefined) r.c = record.containerId;
  if (record.host !== undefined) r.h = record.host;
  if (record.port !== undefined) r.p = record.port;
  if (record.socketPath !== undefined) r.u = record.socketPath;
  if (record.machine !== undefined) r.m = record.machine;
  if (record.hostName !== undefined) r.n = record.hostName;
  if (record.startedAtMs !== undefined) r.t = record.startedAtMs;
  return JSON.stringify(r);
}

/** A record changed: `after` undefined when it was dropped (`drop` says why, when a notice told). */
export type DirectoryListener = (
  instanceId: string,
  before: DirectoryRecord | undefined,
  after: DirectoryRecord | undefined,
  drop?: DropInfo,
) => void;

interface Entry {
  record: DirectoryRecord | undefined;
  version: number;
}

export class DirectoryCopy {
  private readonly entries = new Map<string, Entry>();
  private live = 0;
  /** Every notice up to this version was applied (or superseded by a read at or after it). */
  contiguous = 0;
  private readonly listeners = new Set<DirectoryListener>();

  get(instanceId: string): DirectoryRecord | undefined {
    return this.entries.get(instanceId)?.record;
  }

  /** Records (instances starting or running in the cluster). O(1). */
  count(): number {
    return this.live;
  }

  records(): DirectoryRecord[] {
    const out: DirectoryRecord[] = [];
    for (const entry of this.entries.values()) if (entry.record) out.push(entry.record);
    return out;
  }

  onChange(listener: DirectoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A notice: `raw` is the record written at `version`, or false when it was dropped. True when it shows a gap (a read is owed). */
  applyNotice(version: number, instanceId: string, raw: string | false, drop?: DropInfo): boolean {
    this.put(instanceId, raw === false ? undefined : parseRecord(raw), version, drop);
    if (version === this.contiguous + 1) this.contiguous = version;
    return version > this.contiguous;
  }

  /** A reply that wrote `raw` (this gateway's own change): applied at once, ahead of its notice. */
  applyWritten(raw: string): DirectoryRecord {
    const record = parseRecord(raw);
    this.put(record.instanceId, record, record.version);
    return record;
  }

  /** This gateway's own release, applied at once. */
  applyDropped(instanceId: string, drop: DropInfo): void {
    const entry = this.entries.get(instanceId);
    if (entry?.record?.fence === drop.fence) this.put(instanceId, undefined, entry.version, drop, true);
  }

  /** The whole directory as Redis held it at `version` (`flat` = [id, record, ...]). */
  applyRead(version: number, flat: string[]): void {
    const read = new Map<string, DirectoryRecord>();
    for (let i = 0; i < flat.length; i += 2) read.set(flat[i]!, parseRecord(flat[i + 1]!));
    for (const [id, entry] of this.entries) {
      if (entry.version > version) continue; // a notice newer than the read
      if (!read.has(id)) this.put(id, undefined, version, undefined, true);
    }
    for (const [id, record] of read) this.put(id, record, record.version);
    for (const [id, entry] of this.entries) if (!entry.record && entry.version <= version) this.entries.delete(id);
    if (version > this.contiguous) this.contiguous = version;
  }

  /**
   * Redis lost its data: everything known is forgotten, silently: the containers still run, and the gateways
   * write back the records they hold under the same fences, so a handle on one sees nothing change.
   */
  reset(): void {
    this.entries.clear();
    this.live = 0;
    this.contiguous = 0;
  }

  private put(id: string, record: DirectoryRecord | undefined, version: number, drop?: DropInfo, force = false): void {
    const entry = this.entries.get(id);
    if (entry && !force && entry.version >= version) return;
    const before = entry?.record;
    this.live += Number(record !== undefined) - Number(before !== undefined);
    this.entries.set(id, { record, version });
    if (before === record || (before && record && before.version === record.version && before.fence === record.fence)) return;
    for (const listener of this.listeners) {
      try {
        listener(id, before, record, drop);
      } catch {
        // One listener failing must not keep the others from the news.
      }
    }
  }
}
