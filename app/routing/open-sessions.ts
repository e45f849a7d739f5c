/**
 * Open-session counts by session and by instance, kept incrementally so every read is O(1): what the in-memory
 * routing store holds, and what a clustered gateway's local view sums over every gateway's share.
 */
import type { StoredLoad } from "./store.ts";

export class OpenSessionCounts {
  /** sessionId -> instanceId -> open count; the last key was bound most recently (inner maps hold one entry except during a move). */
  private readonly bySession = new Map<string, Map<string, number>>();
  private readonly instances = new Map<string, StoredLoad>();
  private total = 0;
  /** Told the id of every instance whose count changed (watchLoads). */
  private loadListener: ((instanceId: string) => void) | undefined;

  /**
   * `last`: an instance's last change is the time of its latest adjustment (one writer, one clock). `latest`:
   * the latest time any adjustment carried, so changes applied out of order (notices from several gateways)
   * never move it back.
   */
  constructor(private readonly changeTime: "last" | "latest" = "last") {}

  /** Open sessions `sessionId` has on `instanceId`, or undefined when none. */
  protected openCountOf(sessionId: string, instanceId: string): number | undefined {
    return this.bySession.get(sessionId)?.get(instanceId);
  }

  /** `delta` more (or fewer) open sessions `sessionId` on `instanceId`, at `atMs`. */
  protected adjust(sessionId: string, instanceId: string, delta: number, atMs: number): void {
    if (delta === 0) return;
    let held = this.bySession.get(sessionId);
    if (!held) this.bySession.set(sessionId, (held = new Map()));
    const count = (held.get(instanceId) ?? 0) + delta;
    // A bind re-inserts, so the holder (the last key) is the instance bound most recently; a close keeps the order.
    if (delta > 0) held.delete(instanceId);
    if (count > 0) held.set(instanceId, count);
    else held.delete(instanceId);
    if (held.size === 0) this.bySession.delete(sessionId);
    const entry = this.instances.get(instanceId);
    if (entry) {
      entry.sessions += delta;
      this.touch(entry, atMs);
    } else {
      this.instances.set(instanceId, { instanceId, sessions: delta, lastChangeAtMs: atMs });
    }
    this.total += delta;
    this.loadListener?.(instanceId);
  }

  /**
   * `listener` hears the id of every instance whose open-session count changed, whoever changed it (this
   * gateway, or a peer's notice applied to a shared view); one listener, a later call replaces it.
   */
  watchLoads(listener: ((instanceId: string) => void) | undefined): void {
    this.loadListener = listener;
  }

  /** Raises an instance's last change to `atMs` without changing its count (known to the store, maybe empty). */
  protected noteChangeAt(instanceId: string, atMs: number): void {
    const entry = this.instances.get(instanceId);
    if (entry) this.touch(entry, atMs);
    else this.instances.set(instanceId, { instanceId, sessions: 0, lastChangeAtMs: atMs });
  }

  private touch(entry: StoredLoad, atMs: number): void {
    entry.lastChangeAtMs = this.changeTime === "latest" ? Math.max(entry.lastChangeAtMs, atMs) : atMs;
  }

  /** The instance holding an open session with this id (the latest one bound), if any. */
  holder(sessionId: string): string | undefined {
    let last: string | undefined;
    for (const instanceId of this.bySession.get(sessionId)?.keys() ?? []) last = instanceId;
    return last;
  }

  /** Open sessions on `instanceId`. */
  load(instanceId: string): number {
    return this.instances.get(instanceId)?.sessions ?? 0;
  }

  /** Open sessions on all instances. */
  totalLoad(): number {
    return this.total;
  }

  /** When `instanceId`'s load last changed, or undefined when it never held a session. */
  lastChangeAtMs(instanceId: string): number | undefined {
    return this.instances.get(instanceId)?.lastChangeAtMs;
  }

  /** Every instance that ever held a session, in first-bound order. */
  loads(): StoredLoad[] {
    return [...this.instances.values()].map((entry) => ({ ...entry }));
  }
}
