/**
 * A gateway's copy of the cluster's routing state, and how each kind of news from Redis is applied to it:
 * notices, snapshots, heartbeats and this gateway's own slot replies. No I/O here; the Redis store decides
 * when to read what. Peers' counts are versioned per gateway (ClusterView); the shared facts (own instances,
 * slots) by `cv`, which only advances over notices applied in order, so a gap is read again at the next
 * heartbeat and nothing older than what was applied is ever applied over it.
 */
import type { GatewayPresence } from "../routing/store.ts";
import { ClusterView } from "./view.ts";

/** A peer as its heartbeat announced it. */
interface Presence {
  address: string | null;
  seenAtMs: number;
}

/** Redis replies come flat (`[field, value, ...]`) from scripts and as objects from HGETALL. */
export type FlatOrObject = string[] | Record<string, string>;

function entriesOf(raw: FlatOrObject): Array<[string, string]> {
  if (!Array.isArray(raw)) return Object.entries(raw);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function parsePresence(raw: string, nowMs: number): Presence {
  try {
    const parsed = JSON.parse(raw) as { a?: string | null; t?: number };
    return { address: parsed.a ?? null, seenAtMs: Number(parsed.t) || nowMs };
  } catch {
    return { address: null, seenAtMs: nowMs };
  }
}

export class ClusterReplica {
  readonly view = new ClusterView();
  readonly own = new Map<string, string>();
  readonly slots = new Set<string>();
  private readonly presence = new Map<string, Presence>();
  /** The cv (version of own + slots) applied here. */
  appliedCv = -1;

  constructor(
    private readonly selfId: string,
    private readonly clock: () => number,
  ) {}

  /** Applies one notice; returns a peer whose whole share should be read now (it just registered). */
  applyNotice(message: string): string | undefined {
    let notice: Record<string, any>;
    try {
      notice = JSON.parse(message);
    } catch {
      return undefined;
    }
    switch (notice.k) {
      case "open":
        if (notice.g === this.selfId) return undefined;
        if (!this.presence.has(notice.g)) this.presence.set(notice.g, { address: null, seenAtMs: this.clock() });
        this.view.set(notice.g, Number(notice.v), notice.s, notice.i, notice.c, notice.t);
        return undefined;
      case "own":
        if (notice.cv <= this.appliedCv) return undefined; // a snapshot or a reply already went past it
        if (notice.i === "") this.own.delete(notice.s);
        else this.own.set(notice.s, notice.i);
        this.advance(notice.cv);
        return undefined;
      case "slot":
        this.applySlot(notice.i, notice.on, notice.cv);
        return undefined;
      case "gw":
        return notice.g === this.selfId ? undefined : notice.g;
      case "bye":
        if (notice.g !== this.selfId) this.forget(notice.g);
        return undefined;
    }
    return undefined;
  }

  /**
   * This gateway's own slot change answered at `cv` (-1: nothing changed), unless its notice, or a later one,
   * was applied already: the reply and the notice travel on different connections.
   */
  applySlot(instanceId: string, on: boolean, cv: number): void {
    if (cv <= this.appliedCv) return;
    if (on) this.slots.add(instanceId);
    else this.slots.delete(instanceId);
    this.advance(cv);
  }

  /** A peer's whole share (its `gw:<id>:open` hash); `atMsOf` says when each instance last changed. */
  applyShare(id: string, raw: FlatOrObject, atMsOf: (instanceId: string) => number): void {
    let version = -1;
    const open = new Map<string, number>();
    for (const [field, value] of entriesOf(raw)) {
      if (field === "_v") version = Number(value);
      else open.set(field, Number(value));
    }
    this.view.replace(id, version, open, atMsOf);
  }

  /** Own instances and slots as Redis holds them at `cv`. */
  applyShared(cv: number, own: FlatOrObject, slots: string[]): void {
    this.own.clear();
    for (const [sessionId, instanceId] of entriesOf(own)) this.own.set(sessionId, instanceId);
    this.slots.clear();
    for (const id of slots) this.slots.add(id);
    this.appliedCv = cv;
  }

  /** A SNAPSHOT reply's gateways, shared facts and last changes (its epoch already checked). */
  applySnapshot(cv: string, gateways: unknown[], own: FlatOrObject, slots: string[], changed: FlatOrObject): void {
    const now = this.clock();
    const changedAt = new Map(entriesOf(changed).map(([id, ms]) => [id, Number(ms)]));
    const atMsOf = (instanceId: string) => changedAt.get(instanceId) ?? now;
    const alive = new Set<string>([this.selfId]);
    for (let i = 0; i < gateways.length; i += 3) {
      const id = gateways[i] as string;
      alive.add(id);
      if (id === this.selfId) continue;
      this.presence.set(id, parsePresence(gateways[i + 1] as string, now));
      this.applyShare(id, gateways[i + 2] as FlatOrObject, atMsOf);
    }
    this.keepOnly(alive);
    this.applyShared(Number(cv), own, slots);
    for (const [id, ms] of changedAt) this.view.noteChange(id, ms);
  }

  /**
   * A HEARTBEAT reply's list (`[id, presence, version, ...]`): peers no longer listed are forgotten. Returns
   * the peers whose version is ahead of what was applied (to be read) and this gateway's version in Redis.
   */
  applyHeartbeat(list: string[]): { behind: string[]; selfVersion: number } {
    const now = this.clock();
    const alive = new Set<string>();
    const behind: string[] = [];
    let selfVersion = -1;
    for (let i = 0; i < list.length; i += 3) {
      const [id, presence, version] = [list[i]!, list[i + 1]!, Number(list[i + 2])];
      alive.add(id);
      if (id === this.selfId) {
        selfVersion = version;
        continue;
      }
      this.presence.set(id, parsePresence(presence, now));
      if (version > this.view.versionOf(id)) behind.push(id);
    }
    alive.add(this.selfId);
    this.keepOnly(alive);
    return { behind, selfVersion };
  }

  /** A peer left or expired: its counts leave the sums. */
  forget(id: string): void {
    this.view.drop(id, this.clock());
    this.presence.delete(id);
  }

  /** This gateway (at `selfAddress`) and every peer it knows of. */
  gateways(selfAddress: string | null): GatewayPresence[] {
    const now = this.clock();
    const self = { id: this.selfId, sessions: this.view.sessionsOf(this.selfId), lastSeenMs: 0, address: selfAddress };
    const peers = [...this.presence].map(([id, seen]) => ({
      id,
      sessions: this.view.sessionsOf(id),
      lastSeenMs: Math.max(0, now - seen.seenAtMs),
      address: seen.address,
    }));
    return [self, ...peers];
  }

  private keepOnly(alive: Set<string>): void {
    for (const id of this.view.gatewayIds()) if (!alive.has(id)) this.forget(id);
    for (const id of [...this.presence.keys()]) if (!alive.has(id)) this.presence.delete(id);
  }

  /** In order: advance; after a gap the next heartbeat reads own + slots again. */
  private advance(cv: number): void {
    if (cv === this.appliedCv + 1) this.appliedCv = cv;
  }
}
