/**
 * Routing state behind one small seam: which session holds which instance, open-session counts per instance, a
 * session's own instance, and the MAX_INSTANCES slots. Reads and the per-session writes are synchronous, so the
 * strategies stay microsecond-fast: a store shared by several gateways answers them from a local view and writes
 * through in the background (app/cluster/redis-store.ts). What has to be decided for the whole cluster at once (a
 * slot, a capped bind) is asynchronous and fails with StoreUnavailableError while the shared store is away.
 */

import { OpenSessionCounts } from "./open-sessions.ts";

/** Which implementation holds the routing state (shown on /stats). */
export type StoreKind = "memory" | "redis";

/** Load of one instance as the store counts it. */
export interface StoredLoad {
  instanceId: string;
  sessions: number;
  /** Last bind/unbind on this instance (ms epoch). */
  lastChangeAtMs: number;
}

/** One gateway of the cluster as the store last saw it (for /stats `gateways[]`). */
export interface GatewayPresence {
  id: string;
  /** Open sessions this gateway counts under its own key. */
  sessions: number;
  /** Milliseconds since its last heartbeat (0 for this gateway's own entry in the memory store). */
  lastSeenMs: number;
  /** Where it listens, as it announced itself; null when unknown. */
  address: string | null;
}

/** The shared store cannot be reached: a caller answers 503 with `Retry-After: retryAfterS`. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(
    message: string,
    readonly retryAfterS = 2,
  ) {
    super(message);
  }
}

export interface RoutingStore {
  readonly kind: StoreKind;
  /** False while the shared store cannot be reached: reads answer from the last view, cluster decisions fail. */
  readonly available: boolean;
  /** Connects and registers (the memory store has nothing to do); rejects when the store cannot be reached. */
  connect(): Promise<void>;
  /** The instance holding an open session with this id (the latest one bound), if any. */
  holder(sessionId: string): string | undefined;
  /** One more open session `sessionId` on `instanceId`; the same id may be open twice during a reconnect. */
  bind(sessionId: string, instanceId: string, nowMs: number): void;
  /** One open session ended. False (and nothing changes) when no such session was bound: a double close. */
  unbind(sessionId: string, instanceId: string, nowMs: number): boolean;
  /**
   * bind() only if `instanceId` then holds at most `maxSessions` open sessions cluster-wide, decided atomically
   * (autoscale's MAX_CONNECTIONS_PER_CONTAINER). False (nothing bound) when it is full.
   */
  bindWithin(sessionId: string, instanceId: string, maxSessions: number, nowMs: number): Promise<boolean>;
  /** Open sessions on `instanceId`. */
  load(instanceId: string): number;
  /** Open sessions on all instances. */
  totalLoad(): number;
  /** When `instanceId`'s load last changed, or undefined when it never held a session. */
  lastChangeAtMs(instanceId: string): number | undefined;
  /** Every instance that ever held a session, in first-bound order. */
  loads(): StoredLoad[];
  /**
   * `listener` hears the id of every instance whose load() changed, by this gateway or, in a shared store, by a
   * peer (so a strategy that files instances by load refiles them). One listener: a later call replaces it, as a
   * strategy rebuilt by a reload replaces the one before it.
   */
  watchLoads(listener: ((instanceId: string) => void) | undefined): void;
  /**
   * Open sessions on `instanceId` per gateway id, only gateways with at least one (their sum is load()). The
   * memory store knows only this gateway; a shared store sums each gateway's published share.
   */
  loadsByGateway(instanceId: string): Record<string, number>;
  /** The instance remembered as `sessionId`'s own (a claimed spare), if any. */
  dedicated(sessionId: string): string | undefined;
  /** Remembers `instanceId` as `sessionId`'s own instance. */
  assign(sessionId: string, instanceId: string): void;
  /** Forgets `sessionId`'s own instance. */
  release(sessionId: string): void;
  /** Every remembered session -> own instance pair (for pruning stale ones). */
  assignments(): Iterable<[sessionId: string, instanceId: string]>;
  /**
   * Takes one of `maxInstances` slots for `instanceId` atomically (MAX_INSTANCES); true when it holds one now
   * (already holding one counts), false when all are taken.
   */
  takeSlot(instanceId: string, maxInstances: number): Promise<boolean>;
  /** Gives `instanceId`'s slot back (its container stopped). */
  freeSlot(instanceId: string): Promise<void>;
  /** Slots taken, as last seen. */
  slotCount(): number;
  /** This gateway and its live peers. */
  gateways(): GatewayPresence[];
  /** Resolves once every write issued so far reached the store; StoreUnavailableError if one could not. */
  settled(): Promise<void>;
  /** Deregisters and disconnects; reads keep answering from the last view. */
  close(): Promise<void>;
}

/** The in-process store: maps only, every operation O(1) (slots and gateways() aside: O(1) too). */
export class MemoryRoutingStore extends OpenSessionCounts implements RoutingStore {
  readonly kind = "memory" as const;
  readonly available = true;
  private readonly own = new Map<string, string>();
  private readonly slots = new Set<string>();

  /** `gatewayId` and `address` (where it listens, once it does) name this gateway in gateways(). */
  constructor(private readonly self: { gatewayId?: string; address?: () => string | null } = {}) {
    super("last");
  }

  async connect(): Promise<void> {}

  bind(sessionId: string, instanceId: string, nowMs: number): void {
    this.adjust(sessionId, instanceId, 1, nowMs);
  }

  unbind(sessionId: string, instanceId: string, nowMs: number): boolean {
    // A double close finds nothing bound and changes nothing: counts never go negative.
    if (this.openCountOf(sessionId, instanceId) === undefined) return false;
    this.adjust(sessionId, instanceId, -1, nowMs);
    return true;
  }

  async bindWithin(sessionId: string, instanceId: string, maxSessions: number, nowMs: number): Promise<boolean> {
    if (this.load(instanceId) >= maxSessions) return false;
    this.bind(sessionId, instanceId, nowMs);
    return true;
  }

  loadsByGateway(instanceId: string): Record<string, number> {
    const sessions = this.load(instanceId);
    return sessions > 0 ? { [this.selfId()]: sessions } : {};
  }

  dedicated(sessionId: string): string | undefined {
    return this.own.get(sessionId);
  }

  assign(sessionId: string, instanceId: string): void {
    this.own.set(sessionId, instanceId);
  }

  release(sessionId: string): void {
    this.own.delete(sessionId);
  }

  assignments(): Iterable<[string, string]> {
    return [...this.own.entries()];
  }

  async takeSlot(instanceId: string, maxInstances: number): Promise<boolean> {
    if (this.slots.has(instanceId)) return true;
    if (this.slots.size >= maxInstances) return false;
    this.slots.add(instanceId);
    return true;
  }

  async freeSlot(instanceId: string): Promise<void> {
    this.slots.delete(instanceId);
  }

  slotCount(): number {
    return this.slots.size;
  }

  gateways(): GatewayPresence[] {
    return [{ id: this.selfId(), sessions: this.totalLoad(), lastSeenMs: 0, address: this.self.address?.() ?? null }];
  }

  async settled(): Promise<void> {}

  async close(): Promise<void> {}

  private selfId(): string {
    return this.self.gatewayId ?? "local";
  }
}
