/**
 * The routing store of a cluster: several gateways (same GATEWAY_NAME, same Redis) share their routing state.
 * Reads answer from a local copy (replica.ts), so strategies stay synchronous; every write goes to the copy at
 * once and through to Redis as one atomic Lua script (scripts.ts) that also announces it on the cluster's
 * channel. Peers apply the notices, and compare write versions on every heartbeat, so a lost notice is caught
 * within one beat; after a (re)connect the store writes its own share again and reads everything. Pub/sub is
 * never the only source of truth.
 *
 * Each gateway's session counts live under its own keys with a TTL its heartbeat refreshes, so a gateway that
 * dies takes its counts with it (ttlMs plus one heartbeat). While Redis cannot be reached `available` is false,
 * reads keep answering from the copy, sessions still bind locally (written again once Redis is back), and
 * what needs the cluster (takeSlot, bindWithin, settled) fails with StoreUnavailableError.
 */
import type { GatewayPresence, RoutingStore, StoredLoad } from "../routing/store.ts";
import { StoreUnavailableError } from "../routing/store.ts";
import { BeatLoop } from "./beat-loop.ts";
import { RedisLink } from "./link.ts";
import { redactUrl } from "./redis-url.ts";
import { ClusterReplica, type FlatOrObject } from "./replica.ts";
import type { RedisScripts } from "./script-runner.ts";
import { type ClusterKeys, clusterKeys } from "./scripts.ts";

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

export class RedisRoutingStore implements RoutingStore {
  readonly kind = "redis" as const;
  readonly gatewayId: string;
  private readonly keys: ClusterKeys;
  private readonly replica: ClusterReplica;
  private readonly link: RedisLink;
  /** Writes sent and not answered yet (settled() waits for them). */
  private readonly pending = new Set<Promise<unknown>>();
  /** This gateway's open sessions per instance, beside the per-session counts in the view. */
  private readonly ownLoads = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly clock: () => number;
  /** This gateway's write version: starts at the clock (a restarted gateway outranks its past), +1 per write. */
  private version: number;
  /** The epoch this gateway registered under; another one means Redis lost its data. */
  private epoch = "";
  private up = false;
  private needsResync = true;
  private closed = false;
  private readonly beats: BeatLoop;

  constructor(private readonly options: RedisStoreOptions) {
    this.gatewayId = options.gatewayId;
    this.keys = clusterKeys(options.clusterName, options.gatewayId);
    this.beats = new BeatLoop(options.heartbeatMs ?? 500, () => this.beat());
    this.ttlMs = options.ttlMs ?? 2000;
    this.clock = options.clock ?? Date.now;
    this.version = this.clock() * 1000;
    this.replica = new ClusterReplica(options.gatewayId, this.clock);
    this.link = new RedisLink(options.url, options.commandTimeoutMs ?? 1000, () => void (this.needsResync = true));
  }

  get available(): boolean {
    return this.up && !this.closed;
  }

  /** Connects, registers and reads the cluster's state; rejects naming REDIS_URL when Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      await this.resync();
    } catch (error) {
      this.link.close();
      throw new StoreUnavailableError(`REDIS_URL: cannot reach ${redactUrl(this.options.url)}: ${(error as Error).message}`);
    }
    if (!this.closed) this.beats.start();
  }

  holder(sessionId: string): string | undefined {
    return this.replica.view.holder(sessionId);
  }

  bind(sessionId: string, instanceId: string, nowMs: number): void {
    this.put(sessionId, instanceId, +1, nowMs);
  }

  unbind(sessionId: string, instanceId: string, nowMs: number): boolean {
    if (this.replica.view.countOf(this.gatewayId, sessionId, instanceId) === 0) return false;
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
    const answer = this.link.call(scripts.putWithin(this.keys, [...args, String(maxSessions), this.keys.prefix]));
    this.pending.add(answer);
    const undo = (write: boolean) => {
      if (this.replica.view.countOf(this.gatewayId, sessionId, instanceId) > 0) this.put(sessionId, instanceId, -1, nowMs, write);
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
    return this.replica.view.load(instanceId);
  }

  totalLoad(): number {
    return this.replica.view.totalLoad();
  }

  lastChangeAtMs(instanceId: string): number | undefined {
    return this.replica.view.lastChangeAtMs(instanceId);
  }

  loads(): StoredLoad[] {
    return this.replica.view.loads();
  }

  loadsByGateway(instanceId: string): Record<string, number> {
    return this.replica.view.loadsByGateway(instanceId);
  }

  watchLoads(listener: ((instanceId: string) => void) | undefined): void {
    this.replica.view.watchLoads(listener);
  }

  dedicated(sessionId: string): string | undefined {
    return this.replica.own.get(sessionId);
  }

  assign(sessionId: string, instanceId: string): void {
    this.replica.own.set(sessionId, instanceId);
    this.writeBehind((scripts) => scripts.assign(this.keys, [sessionId, instanceId, this.keys.channel]));
  }

  release(sessionId: string): void {
    if (!this.replica.own.delete(sessionId)) return;
    this.writeBehind((scripts) => scripts.assign(this.keys, [sessionId, "", this.keys.channel]));
  }

  assignments(): Iterable<[string, string]> {
    return [...this.replica.own.entries()];
  }

  async takeSlot(instanceId: string, maxInstances: number): Promise<boolean> {
    const [held, cv] = await this.shared((scripts) => scripts.slot(this.keys, [instanceId, String(maxInstances), this.keys.channel]));
    this.replica.applySlot(instanceId, true, cv);
    return held === 1;
  }

  async freeSlot(instanceId: string): Promise<void> {
    const [, cv] = await this.shared((scripts) => scripts.slot(this.keys, [instanceId, "0", this.keys.channel]));
    this.replica.applySlot(instanceId, false, cv);
  }

  slotCount(): number {
    return this.replica.slots.size;
  }

  gateways(): GatewayPresence[] {
    return this.replica.gateways(this.options.address?.() ?? null);
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    if (!this.available || this.needsResync) throw this.unavailable();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.beats.stop();
    await Promise.allSettled([...this.pending]);
    // Peers drop this gateway's counts at once instead of waiting for its keys to expire.
    if (this.up) await this.link.call(this.link.scripts.bye(this.keys, [this.gatewayId, this.keys.channel])).catch(() => undefined);
    this.up = false;
    this.link.close();
  }

  /**
   * Stops heartbeating and drops the connections without a bye: what a SIGKILLed gateway looks like to its
   * peers (its keys expire after ttlMs). For fault tests.
   */
  halt(): void {
    this.closed = true;
    void this.beats.stop();
    this.up = false;
    this.link.close();
  }

  /** Changes this gateway's count of (session, instance) by `delta` in the copy and writes it through. */
  private put(sessionId: string, instanceId: string, delta: number, nowMs: number, write = true): string[] {
    const count = this.replica.view.countOf(this.gatewayId, sessionId, instanceId) + delta;
    const load = (this.ownLoads.get(instanceId) ?? 0) + delta;
    if (load > 0) this.ownLoads.set(instanceId, load);
    else this.ownLoads.delete(instanceId);
    this.version++;
    this.replica.view.set(this.gatewayId, this.version, sessionId, instanceId, count, nowMs);
    const args = [
      this.gatewayId,
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

  /** A write that may lag: nothing waits for it unless settled() is asked; failing marks Redis as away. */
  private writeBehind(command: (scripts: RedisScripts) => Promise<unknown>): void {
    if (!this.available) {
      this.needsResync = true; // the resync writes this gateway's share and the facts it knows
      return;
    }
    const done = this.link.call(command(this.link.scripts)).catch(() => this.lost());
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** A cluster-wide decision: only with Redis there. */
  private async shared<T>(command: (scripts: RedisScripts) => Promise<T>): Promise<T> {
    const scripts = this.ready();
    try {
      return await this.link.call(command(scripts));
    } catch (error) {
      this.lost();
      throw this.unavailable(error);
    }
  }

  private ready(): RedisScripts {
    if (!this.available) throw this.unavailable();
    return this.link.scripts;
  }

  private unavailable(cause?: unknown): StoreUnavailableError {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return new StoreUnavailableError(`routing store unavailable (Redis at ${redactUrl(this.options.url)})${why}`);
  }

  private lost(): void {
    this.up = false;
    this.needsResync = true;
  }

  /** One heartbeat: reconnect and resync when needed, refresh presence, read what notices missed. */
  private async beat(): Promise<void> {
    try {
      if (!this.link.connected) this.up = false; // said at once, not after a reconnect attempt times out
      if (this.needsResync || !this.link.connected) await this.resync();
      const presence = [this.gatewayId, this.presenceJson(), String(this.ttlMs), this.keys.prefix];
      const [epoch, cv, list] = (await this.link.call(this.link.scripts.heartbeat(this.keys, presence))) as [
        string | null,
        string,
        string[],
      ];
      if (epoch !== this.epoch) return void (this.needsResync = true);
      const { behind, selfVersion } = this.replica.applyHeartbeat(list);
      // This gateway's own share expired (a stall longer than its TTL) or lags: write it again.
      if (selfVersion !== this.version && this.pending.size === 0) this.needsResync = true;
      for (const id of behind) await this.readPeer(id);
      if (Number(cv) !== this.replica.appliedCv) await this.readEverything();
      this.up = true; // Redis answered; a resync still owed runs at the next beat
    } catch {
      this.lost();
    }
  }

  /** (Re)connects, subscribes afresh, writes this gateway's whole share, and reads everything. */
  private async resync(): Promise<void> {
    // Writes meanwhile still go out (after REGISTER on the same connection); a failure marks Redis as away.
    await this.link.open(this.keys.channel, (message) => {
      const peer = this.replica.applyNotice(message);
      if (peer !== undefined) void this.readPeer(peer).catch(() => this.lost());
    });
    this.needsResync = false;
    const open = [...this.replica.view.openOf(this.gatewayId)].flatMap(([field, count]) => [field, String(count)]);
    const load = [...this.ownLoads].flatMap(([id, count]) => [id, String(count)]);
    const own = [...this.replica.own].flat();
    const slots = [...this.replica.slots];
    const [epoch] = (await this.link.call(
      this.link.scripts.register(this.keys, [
        ...[this.gatewayId, this.presenceJson(), String(this.ttlMs), String(this.version)],
        ...[crypto.randomUUID(), this.epoch, this.keys.channel],
        ...[String(open.length / 2), ...open, String(load.length / 2), ...load],
        ...[String(own.length / 2), ...own, String(slots.length), ...slots],
      ]),
    )) as [string, number];
    this.epoch = epoch;
    await this.readEverything();
    this.up = !this.needsResync;
  }

  private async readEverything(): Promise<void> {
    const reply = await this.link.call(this.link.scripts.snapshot(this.keys, [this.keys.prefix]));
    const [epoch, cv, gateways, own, slots, changed] = reply as [string | null, string, unknown[], FlatOrObject, string[], FlatOrObject];
    if (epoch !== this.epoch) return void (this.needsResync = true);
    this.replica.applySnapshot(cv, gateways, own, slots, changed);
  }

  private async readPeer(id: string): Promise<void> {
    const share = await this.link.send("HGETALL", [`${this.keys.prefix}gw:${id}:open`]);
    const now = this.clock();
    this.replica.applyShare(id, share, () => now);
  }

  private presenceJson(): string {
    return JSON.stringify({ a: this.options.address?.() ?? null, t: this.clock() });
  }
}
