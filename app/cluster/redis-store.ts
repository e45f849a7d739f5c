/**
 * The routing store of a cluster: several gateways (same GATEWAY_NAME, same Redis) share their routing state.
 * Reads answer from a local view (ClusterView plus the shared facts), so strategies stay synchronous; every
 * write goes to the view at once and through to Redis as one atomic Lua script (scripts.ts) that also
 * announces it on the cluster's channel. Peers apply the notices to their views, and compare write versions on
 * every heartbeat, so a lost notice is caught within one beat; after a (re)connect the store re-registers its
 * own share and reads everything again. Pub/sub is never the only source of truth.
 *
 * Each gateway's session counts live under its own keys with a TTL its heartbeat refreshes, so a gateway that
 * dies takes its counts with it (ttlMs plus one heartbeat). While Redis cannot be reached `available` is false,
 * reads keep answering from the last view, sessions still bind locally (re-registered once Redis is back), and
 * what needs the cluster (takeSlot, bindWithin, settled) fails with StoreUnavailableError.
 */
import { RedisClient } from "bun";
import type { GatewayPresence, RoutingStore, StoredLoad } from "../routing/store.ts";
import { StoreUnavailableError } from "../routing/store.ts";
import { redactUrl } from "./redis-url.ts";
import { type RedisScripts, loadScripts } from "./script-runner.ts";
import { type ClusterKeys, clusterKeys } from "./scripts.ts";
import { ClusterView, openField } from "./view.ts";

export interface RedisStoreOptions {
  url: string;
  /** GATEWAY_NAME: gateways with the same name and the same Redis form one cluster. */
  clusterName: string;
  /** GATEWAY_ID: this replica. */
  gatewayId: string;
  /** Where this gateway listens, read at each heartbeat (null until it listens). */
  address?: () => string | null;
  /** Heartbeat period; also the longest a missed notice goes unnoticed. */
  heartbeatMs?: number;
  /** TTL of this gateway's keys: its counts vanish this long after its last heartbeat. */
  ttlMs?: number;
  /** Bound on each Redis call; a slower answer counts as Redis being away. */
  commandTimeoutMs?: number;
  clock?: () => number;
}

/** Peer presence as its heartbeat wrote it. */
interface Presence {
  address: string | null;
  seenAtMs: number;
}

export class RedisRoutingStore implements RoutingStore {
  readonly kind = "redis" as const;
  private readonly keys: ClusterKeys;
  private readonly view = new ClusterView();
  private readonly own = new Map<string, string>();
  private readonly slots = new Set<string>();
  private readonly presence = new Map<string, Presence>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private client: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private scripts: RedisScripts | undefined;
  /** This gateway's write version: starts at the clock (a restarted gateway outranks its past), +1 per write. */
  private version: number;
  /** cv (version of own + slots) applied here; a heartbeat that sees another reads them again. */
  private appliedCv = -1;
  private epoch = "";
  private up = false;
  private needsResync = true;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private beating: Promise<void> | undefined;

  constructor(private readonly options: RedisStoreOptions) {
    this.keys = clusterKeys(options.clusterName, options.gatewayId);
    this.heartbeatMs = options.heartbeatMs ?? 500;
    this.ttlMs = options.ttlMs ?? 2000;
    this.timeoutMs = options.commandTimeoutMs ?? 1000;
    this.clock = options.clock ?? Date.now;
    this.version = this.clock() * 1000;
  }

  get available(): boolean {
    return this.up && !this.closed;
  }

  get gatewayId(): string {
    return this.options.gatewayId;
  }

  /** Connects, registers and reads the cluster's state; rejects naming REDIS_URL when Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      await this.resync();
    } catch (error) {
      this.closeClients();
      throw new StoreUnavailableError(`REDIS_URL: cannot reach ${redactUrl(this.options.url)}: ${(error as Error).message}`);
    }
    this.schedule();
  }

  holder(sessionId: string): string | undefined {
    return this.view.holder(sessionId);
  }

  bind(sessionId: string, instanceId: string, nowMs: number): void {
    this.put(sessionId, instanceId, +1, nowMs);
  }

  unbind(sessionId: string, instanceId: string, nowMs: number): boolean {
    if (this.view.countOf(this.gatewayId, sessionId, instanceId) === 0) return false;
    this.put(sessionId, instanceId, -1, nowMs);
    return true;
  }

  /**
   * Counts the session at once, like bind() (a burst sees its own load), and undoes that when Redis refuses;
   * a close meanwhile already undid it.
   */
  async bindWithin(sessionId: string, instanceId: string, maxSessions: number, nowMs: number): Promise<boolean> {
    const scripts = this.ready();
    const args = this.put(sessionId, instanceId, +1, nowMs, false);
    const answer = this.call(scripts.putWithin(this.keys, [...args, String(maxSessions), this.keys.prefix]));
    this.pending.add(answer);
    const undo = (write: boolean) => {
      if (this.view.countOf(this.gatewayId, sessionId, instanceId) > 0) this.put(sessionId, instanceId, -1, nowMs, write);
    };
    try {
      if ((await answer) === 1) return true;
      undo(true); // Redis kept the old count; the write says so again
      return false;
    } catch (error) {
      undo(false); // unknown outcome: the resync writes this gateway's share as it is
      this.lost();
      throw this.unavailable(error);
    } finally {
      this.pending.delete(answer);
    }
  }

  load(instanceId: string): number {
    return this.view.load(instanceId);
  }

  totalLoad(): number {
    return this.view.totalLoad();
  }

  lastChangeAtMs(instanceId: string): number | undefined {
    return this.view.lastChangeAtMs(instanceId);
  }

  loads(): StoredLoad[] {
    return this.view.loads();
  }

  dedicated(sessionId: string): string | undefined {
    return this.own.get(sessionId);
  }

  assign(sessionId: string, instanceId: string): void {
    this.own.set(sessionId, instanceId);
    this.writeBehind((scripts) => scripts.assign(this.keys, [sessionId, instanceId, this.keys.channel]));
  }

  release(sessionId: string): void {
    if (!this.own.delete(sessionId)) return;
    this.writeBehind((scripts) => scripts.assign(this.keys, [sessionId, "", this.keys.channel]));
  }

  assignments(): Iterable<[string, string]> {
    return [...this.own.entries()];
  }

  async takeSlot(instanceId: string, maxInstances: number): Promise<boolean> {
    const [held, cv] = await this.shared((scripts) => scripts.slot(this.keys, [instanceId, String(maxInstances), this.keys.channel]));
    this.appliedSlot(instanceId, true, cv);
    return held === 1;
  }

  async freeSlot(instanceId: string): Promise<void> {
    const [, cv] = await this.shared((scripts) => scripts.slot(this.keys, [instanceId, "0", this.keys.channel]));
    this.appliedSlot(instanceId, false, cv);
  }

  slotCount(): number {
    return this.slots.size;
  }

  gateways(): GatewayPresence[] {
    const now = this.clock();
    const ids = new Set([this.gatewayId, ...this.presence.keys()]);
    return [...ids].map((id) => {
      const seen = this.presence.get(id);
      return {
        id,
        sessions: this.view.sessionsOf(id),
        lastSeenMs: id === this.gatewayId ? 0 : Math.max(0, now - (seen?.seenAtMs ?? now)),
        address: id === this.gatewayId ? (this.options.address?.() ?? null) : (seen?.address ?? null),
      };
    });
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    if (!this.available || this.needsResync) throw this.unavailable();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.beating;
    await Promise.allSettled([...this.pending]);
    if (this.up && this.scripts) {
      await this.call(this.scripts.bye(this.keys, [this.gatewayId, this.keys.channel])).catch(() => undefined);
    }
    this.up = false;
    this.closeClients();
  }

  /** Changes this gateway's count of (session, instance) by `delta` in the view and writes it through. */
  private put(sessionId: string, instanceId: string, delta: number, nowMs: number, write = true): string[] {
    const self = this.gatewayId;
    const count = this.view.countOf(self, sessionId, instanceId) + delta;
    this.noteOwnLoad(instanceId, delta);
    this.version++;
    this.view.set(self, this.version, sessionId, instanceId, count, nowMs);
    const load = this.ownLoad(instanceId);
    const args = [
      self,
      sessionId,
      instanceId,
      String(count),
      String(load),
      String(nowMs),
      String(this.version),
      String(this.ttlMs),
      this.keys.channel,
    ];
    if (write) this.writeBehind((scripts) => scripts.put(this.keys, args));
    return args;
  }

  /** This gateway's open sessions on `instanceId`, kept beside the view's per-session counts. */
  private readonly ownLoads = new Map<string, number>();
  private ownLoad(instanceId: string): number {
    return this.ownLoads.get(instanceId) ?? 0;
  }
  private noteOwnLoad(instanceId: string, delta: number): void {
    const load = this.ownLoad(instanceId) + delta;
    if (load > 0) this.ownLoads.set(instanceId, load);
    else this.ownLoads.delete(instanceId);
  }

  /** A write that may lag: nothing to wait for unless settled() is asked; failing marks Redis as away. */
  private writeBehind(command: (scripts: RedisScripts) => Promise<unknown>): void {
    if (!this.available || !this.scripts) {
      this.needsResync = true; // the resync writes this gateway's share and the facts it knows
      return;
    }
    const done = this.call(command(this.scripts)).catch(() => this.lost());
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /**
   * The answer to this gateway's own slot change at `cv` (-1: nothing changed), unless its notice, or a later
   * one, was applied already: the reply and the notice travel on different connections.
   */
  private appliedSlot(instanceId: string, on: boolean, cv: number): void {
    if (cv <= this.appliedCv) return;
    if (on) this.slots.add(instanceId);
    else this.slots.delete(instanceId);
    if (cv === this.appliedCv + 1) this.appliedCv = cv;
  }

  /** A cluster-wide decision: only with Redis there. */
  private async shared<T>(command: (scripts: RedisScripts) => Promise<T>): Promise<T> {
    const scripts = this.ready();
    try {
      return await this.call(command(scripts));
    } catch (error) {
      this.lost();
      throw this.unavailable(error);
    }
  }

  private ready(): RedisScripts {
    if (!this.available || !this.scripts) throw this.unavailable();
    return this.scripts;
  }

  private unavailable(cause?: unknown): StoreUnavailableError {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return new StoreUnavailableError(`routing store unavailable (Redis at ${redactUrl(this.options.url)})${why}`);
  }

  private lost(): void {
    this.up = false;
    this.needsResync = true;
  }

  private call<T>(promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = undefined;
        this.schedule();
      });
    }, this.heartbeatMs);
  }

  /** One heartbeat: reconnect and resync when needed, refresh presence, catch what notices missed. */
  private async beat(): Promise<void> {
    try {
      if (this.needsResync || !this.client?.connected) await this.resync();
      const [epoch, cv, list] = (await this.call(
        this.scripts!.heartbeat(this.keys, [this.gatewayId, this.presenceJson(), String(this.ttlMs), this.keys.prefix]),
      )) as [string | null, string, string[]];
      if (epoch !== this.epoch) return void (this.needsResync = true);
      const alive = new Set<string>();
      for (let i = 0; i < list.length; i += 3) {
        const [id, presence, version] = [list[i]!, list[i + 1]!, Number(list[i + 2])];
        alive.add(id);
        if (id === this.gatewayId) {
          if (version !== this.version && this.pending.size === 0) this.needsResync = true; // our share expired or lagged
          continue;
        }
        this.presence.set(id, parsePresence(presence));
        if (version > this.view.versionOf(id)) await this.readPeer(id);
      }
      for (const id of this.view.gatewayIds()) if (!alive.has(id) && id !== this.gatewayId) this.forget(id);
      for (const id of [...this.presence.keys()]) if (!alive.has(id)) this.presence.delete(id);
      if (Number(cv) !== this.appliedCv) await this.readShared();
      this.up = true;
    } catch {
      this.lost();
    }
  }

  /** (Re)connects, subscribes, writes this gateway's whole share, and reads everything. */
  private async resync(): Promise<void> {
    this.up = false;
    if (!this.client) {
      this.client = new RedisClient(this.options.url, {
        enableOfflineQueue: false,
        connectionTimeout: this.timeoutMs,
        autoReconnect: true,
      });
      this.client.onconnect = () => void (this.needsResync = true);
    }
    if (!this.client.connected) await this.call(this.client.connect());
    this.scripts = await this.call(loadScripts(this.client));
    // Bun's subscriber does not subscribe again after a reconnect: a fresh one per resync, before the reads.
    this.subscriber?.close();
    this.subscriber = new RedisClient(this.options.url, { connectionTimeout: this.timeoutMs });
    await this.call(this.subscriber.subscribe(this.keys.channel, (message) => this.onNotice(message)));
    this.needsResync = false;
    const open: string[] = [];
    let n = 0;
    for (const [field, count] of this.view.openOf(this.gatewayId)) {
      open.push(field, String(count));
      n++;
    }
    const load = [...this.ownLoads].flatMap(([id, count]) => [id, String(count)]);
    const own = [...this.own].flat();
    const candidate = crypto.randomUUID();
    const [epoch] = (await this.call(
      this.scripts.register(this.keys, [
        this.gatewayId,
        this.presenceJson(),
        String(this.ttlMs),
        String(this.version),
        candidate,
        this.epoch,
        this.keys.channel,
        String(n),
        ...open,
        String(load.length / 2),
        ...load,
        String(own.length / 2),
        ...own,
        String(this.slots.size),
        ...this.slots,
      ]),
    )) as [string, number];
    this.epoch = epoch;
    await this.readAll();
    this.up = !this.needsResync;
  }

  private async readAll(): Promise<void> {
    const [epoch, cv, gateways, own, slots, changed] = (await this.call(this.scripts!.snapshot(this.keys, [this.keys.prefix]))) as [
      string | null,
      string,
      unknown[],
      string[],
      string[],
      string[],
    ];
    if (epoch !== this.epoch) return void (this.needsResync = true);
    const now = this.clock();
    const changedAt = new Map(pairs(changed).map(([id, ms]) => [id, Number(ms)]));
    const atMsOf = (instanceId: string) => changedAt.get(instanceId) ?? now;
    const alive = new Set<string>([this.gatewayId]);
    for (let i = 0; i < gateways.length; i += 3) {
      const id = gateways[i] as string;
      alive.add(id);
      if (id === this.gatewayId) continue;
      this.presence.set(id, parsePresence(gateways[i + 1] as string));
      this.applyShare(id, gateways[i + 2] as string[] | Record<string, string>, atMsOf);
    }
    for (const id of this.view.gatewayIds()) if (!alive.has(id)) this.forget(id);
    this.applyShared(Number(cv), own, slots);
    for (const [id, ms] of changedAt) this.view.noteChange(id, ms);
  }

  private async readPeer(id: string): Promise<void> {
    const share = await this.call(this.client!.send("HGETALL", [`${this.keys.prefix}gw:${id}:open`]));
    const now = this.clock();
    this.applyShare(id, share, () => now);
  }

  private async readShared(): Promise<void> {
    const [, cv, , own, slots] = (await this.call(this.scripts!.snapshot(this.keys, [this.keys.prefix]))) as [
      unknown,
      string,
      unknown,
      string[],
      string[],
    ];
    this.applyShared(Number(cv), own, slots);
  }

  private applyShare(id: string, raw: string[] | Record<string, string>, atMsOf: (instanceId: string) => number): void {
    const entries = Array.isArray(raw) ? pairs(raw) : Object.entries(raw);
    let version = -1;
    const open = new Map<string, number>();
    for (const [field, value] of entries) {
      if (field === "_v") version = Number(value);
      else open.set(field, Number(value));
    }
    this.view.replace(id, version, open, atMsOf);
  }

  private applyShared(cv: number, own: string[] | Record<string, string>, slots: string[]): void {
    this.own.clear();
    for (const [sessionId, instanceId] of Array.isArray(own) ? pairs(own) : Object.entries(own)) this.own.set(sessionId, instanceId);
    this.slots.clear();
    for (const id of slots) this.slots.add(id);
    this.appliedCv = cv;
  }

  private forget(id: string): void {
    this.view.drop(id, this.clock());
    this.presence.delete(id);
  }

  private onNotice(message: string): void {
    let notice: Record<string, any>;
    try {
      notice = JSON.parse(message);
    } catch {
      return;
    }
    const now = this.clock();
    switch (notice.k) {
      case "open":
        if (notice.g === this.gatewayId) return;
        if (!this.presence.has(notice.g)) this.presence.set(notice.g, { address: null, seenAtMs: now });
        this.view.set(notice.g, Number(notice.v), notice.s, notice.i, notice.c, notice.t);
        return;
      case "own":
      case "slot":
        // Already reflected (a snapshot or this gateway's own reply was newer): applying it would go back.
        if (notice.cv <= this.appliedCv) return;
        if (notice.k === "own") {
          if (notice.i === "") this.own.delete(notice.s);
          else this.own.set(notice.s, notice.i);
        } else if (notice.on) this.slots.add(notice.i);
        else this.slots.delete(notice.i);
        // In order: advance; after a gap the next heartbeat reads own + slots again.
        if (notice.cv === this.appliedCv + 1) this.appliedCv = notice.cv;
        return;
      case "gw":
        if (notice.g !== this.gatewayId && this.client) void this.readPeer(notice.g).catch(() => this.lost());
        return;
      case "bye":
        if (notice.g !== this.gatewayId) this.forget(notice.g);
        return;
    }
  }

  private presenceJson(): string {
    return JSON.stringify({ a: this.options.address?.() ?? null, t: this.clock() });
  }

  private closeClients(): void {
    this.subscriber?.close();
    this.client?.close();
    this.subscriber = undefined;
    this.client = undefined;
  }
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function parsePresence(raw: string): Presence {
  try {
    const parsed = JSON.parse(raw) as { a?: string | null; t?: number };
    return { address: parsed.a ?? null, seenAtMs: Number(parsed.t) || Date.now() };
  } catch {
    return { address: null, seenAtMs: Date.now() };
  }
}
