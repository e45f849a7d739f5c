/** What every strategy shares: the store, the selector hooks that keep it, the /stats view, upkeep's defaults. */
import type { RoutingMode } from "../config.ts";
import { Occupancy } from "./occupancy.ts";
import type { RoutingStore } from "./store.ts";
import type { CoordinatorView, RouteDecision, RouteRequest } from "./selector.ts";
import type { InstanceView, RoutingStrategy } from "./strategy.ts";

/** Admitted sessions not yet opened, per store (see BaseStrategy.noteAdmitted). */
const ADMITTED = new WeakMap<RoutingStore, Map<string, number>>();

export abstract class BaseStrategy implements RoutingStrategy {
  abstract readonly mode: RoutingMode;
  protected readonly occupancy: Occupancy;
  /** Sessions counted by an admission (admit()) that their opened() must not count again, by open key. */
  private readonly admitted: Map<string, number>;

  constructor(
    protected readonly view: InstanceView,
    protected readonly store: RoutingStore,
    protected readonly clock: () => number,
  ) {
    this.occupancy = new Occupancy(view, store);
    // The strategy this one replaces (a reload) stops hearing load changes; one that files by load listens anew.
    store.watchLoads(undefined);
    // Kept with the store, so a strategy rebuilt by a reload between an admission and its opened() still knows it.
    let admitted = ADMITTED.get(store);
    if (!admitted) ADMITTED.set(store, (admitted = new Map()));
    this.admitted = admitted;
  }

  abstract route(request: RouteRequest): RouteDecision;

  /** The refusal of a session without sessionId, in the modes that need one. */
  protected sessionRequired(): RouteDecision {
    return {
      ok: false,
      status: 400,
      reason: "session_required",
      message: `sessionId is required in ${this.mode} mode: connect to /v1/listen?sessionId=<id>`,
    };
  }

  /** The instance a still-open session with this id holds (a reconnect joins it), unless it failed. */
  protected liveHolder(sessionId: string): string | undefined {
    const holder = this.store.holder(sessionId);
    return holder !== undefined && this.view.state(holder) !== "failed" ? holder : undefined;
  }

  opened(sessionId: string, instanceId: string): void {
    if (!this.takeAdmission(sessionId, instanceId)) this.store.bind(sessionId, instanceId, this.clock());
    this.occupancy.noteOpened(instanceId);
  }

  /** Counts a session bound by an admission (bindWithin), for opened() to take. */
  protected noteAdmitted(sessionId: string, instanceId: string): void {
    const key = `${sessionId}\n${instanceId}`;
    this.admitted.set(key, (this.admitted.get(key) ?? 0) + 1);
  }

  /** Whether an admission counted this session already (it is then used up). */
  private takeAdmission(sessionId: string, instanceId: string): boolean {
    const key = `${sessionId}\n${instanceId}`;
    const count = this.admitted.get(key);
    if (count === undefined) return false;
    if (count > 1) this.admitted.set(key, count - 1);
    else this.admitted.delete(key);
    return true;
  }

  settleAdmission(sessionId: string, instanceId: string): void {
    // Never opened (refused after routing, or routed elsewhere): the admission's count is given back.
    if (this.takeAdmission(sessionId, instanceId)) this.store.unbind(sessionId, instanceId, this.clock());
  }

  closed(sessionId: string, instanceId: string): void {
    // A double close returns false and changes nothing: counts never go negative.
    this.store.unbind(sessionId, instanceId, this.clock());
  }

  prewarmIds(): string[] {
    return [];
  }

  reap(_nowMs: number): string[] {
    return [];
  }

  keepAwake(_instanceId: string): boolean {
    return false;
  }

  sparesToStart(): string[] {
    return [];
  }

  /**
   * Load of an instance: sessions routed there, counted from opened() (before the instance even starts) to
   * closed(). Each session's Session object (app/session/session.ts) makes both calls, exactly once each.
   */
  protected loadOf(instanceId: string): number {
    return this.store.load(instanceId);
  }

  coordinatorView(): CoordinatorView {
    const instances = this.store.loads().map((entry) => ({
      id: entry.instanceId,
      sessions: entry.sessions,
      connections: this.view.connections(entry.instanceId),
      lastChangeAt: new Date(entry.lastChangeAtMs).toISOString(),
    }));
    return { instances, totalSessions: this.store.totalLoad() };
  }
}
