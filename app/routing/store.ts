/**
 * Routing state behind one small seam (docs/architecture.md, "Seams"): which session holds which instance and open-session
 * counts per instance. In memory for now; a Redis store shared by gateway replicas would implement the same
 * interface (strategies stay synchronous, so such a store would answer from a local replica of the keys).
 */

/** Load of one instance as the store counts it. */
export interface StoredLoad {
  instanceId: string;
  sessions: number;
  /** Last bind/unbind on this instance (ms epoch). */
  lastChangeAtMs: number;
}

export interface RoutingStore {
  /** The instance holding an open session with this id (the latest one bound), if any. */
  holder(sessionId: string): string | undefined;
  /** One more open session `sessionId` on `instanceId`; the same id may be open twice during a reconnect. */
  bind(sessionId: string, instanceId: string, nowMs: number): void;
  /** One open session ended. False (and nothing changes) when no such session was bound: a double close. */
  unbind(sessionId: string, instanceId: string, nowMs: number): boolean;
  /** Open sessions on `instanceId`. */
  load(instanceId: string): number;
  /** Open sessions on all instances. */
  totalLoad(): number;
  /** When `instanceId`'s load last changed, or undefined when it never held a session. */
  lastChangeAtMs(instanceId: string): number | undefined;
  /** Every instance that ever held a session, in first-bound order. */
  loads(): StoredLoad[];
  /** The instance remembered as `sessionId`'s own (a claimed spare), if any. */
  dedicated(sessionId: string): string | undefined;
  /** Remembers `instanceId` as `sessionId`'s own instance. */
  assign(sessionId: string, instanceId: string): void;
  /** Forgets `sessionId`'s own instance. */
  release(sessionId: string): void;
  /** Every remembered session -> own instance pair (for pruning stale ones). */
  assignments(): Iterable<[sessionId: string, instanceId: string]>;
}

/** The in-process store: maps only, every operation O(1). */
export class MemoryRoutingStore implements RoutingStore {
  /** sessionId -> instanceId -> open count; inner maps hold one entry except during a move. */
  private readonly open = new Map<string, Map<string, number>>();
  private readonly instances = new Map<string, StoredLoad>();
  private readonly own = new Map<string, string>();
  private total = 0;

  holder(sessionId: string): string | undefined {
    const held = this.open.get(sessionId);
    if (!held) return undefined;
    let last: string | undefined;
    for (const instanceId of held.keys()) last = instanceId;
    return last;
  }

  bind(sessionId: string, instanceId: string, nowMs: number): void {
    let held = this.open.get(sessionId);
    if (!held) this.open.set(sessionId, (held = new Map()));
    const count = held.get(instanceId) ?? 0;
    // Re-insert so holder() (the last key) is the instance bound most recently.
    held.delete(instanceId);
    held.set(instanceId, count + 1);
    const entry = this.instances.get(instanceId);
    if (entry) {
      entry.sessions++;
      entry.lastChangeAtMs = nowMs;
    } else {
      this.instances.set(instanceId, { instanceId, sessions: 1, lastChangeAtMs: nowMs });
    }
    this.total++;
  }

  unbind(sessionId: string, instanceId: string, nowMs: number): boolean {
    const held = this.open.get(sessionId);
    const count = held?.get(instanceId);
    if (!held || count === undefined) return false;
    if (count > 1) held.set(instanceId, count - 1);
    else held.delete(instanceId);
    if (held.size === 0) this.open.delete(sessionId);
    const entry = this.instances.get(instanceId)!;
    entry.sessions--;
    entry.lastChangeAtMs = nowMs;
    this.total--;
    return true;
  }

  load(instanceId: string): number {
    return this.instances.get(instanceId)?.sessions ?? 0;
  }

  totalLoad(): number {
    return this.total;
  }

  lastChangeAtMs(instanceId: string): number | undefined {
    return this.instances.get(instanceId)?.lastChangeAtMs;
  }

  loads(): StoredLoad[] {
    return [...this.instances.values()].map((entry) => ({ ...entry }));
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
}
