/** What every strategy shares: the store, the hooks that keep it, and the /stats view of it. */
import type { RoutingMode } from "../config.ts";
import { Occupancy } from "./occupancy.ts";
import type { RoutingStore } from "./store.ts";
import type { CoordinatorView, InstanceView, RouteDecision, RouteRequest, RoutingStrategy } from "./strategy.ts";

export abstract class BaseStrategy implements RoutingStrategy {
  abstract readonly mode: RoutingMode;
  protected readonly occupancy: Occupancy;

  constructor(
    protected readonly view: InstanceView,
    protected readonly store: RoutingStore,
    protected readonly clock: () => number,
  ) {
    this.occupancy = new Occupancy(view, store);
  }

  abstract route(request: RouteRequest): RouteDecision;

  /** The refusal of a session without sessionId, in the modes that need one. */
  protected sessionRequired(): RouteDecision {
    return {
      ok: false,
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
    this.store.bind(sessionId, instanceId, this.clock());
    this.occupancy.noteOpened(instanceId);
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
   * Load of an instance: sessions routed there (counted before the instance even starts), checked against the
   * registry's open leases; the larger wins so neither a slow start nor a missed hook hides load.
   */
  protected loadOf(instanceId: string): number {
    return Math.max(this.store.load(instanceId), this.view.connections(instanceId));
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
