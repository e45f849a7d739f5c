/** TEST ONLY: autoscale as it was before LoadBuckets (git 0cb1105, class renamed), the reference its decisions are checked against and timed beside. */
/**
 * `autoscale`: an in-process coordinator. Sessions are counted per instance from the opened/closed hooks (checked
 * against the registry's connections); a new session goes to the least-loaded instance in service below
 * MAX_CONNECTIONS_PER_CONTAINER, else to a warm spare, else to a new `auto-<n>` (lowest free n) while fewer than
 * MAX_INSTANCES run, else it is refused. `auto-0`..`auto-<MIN_CONTAINERS-1>` are prewarmed and never reaped; the
 * others are reaped after SCALE_DOWN_AFTER without a session.
 */
import type { GatewayConfig } from "../config.ts";
import { BaseStrategy } from "./base.ts";
import { isLive } from "./occupancy.ts";
import { SparePool } from "./spares.ts";
import type { RoutingStore } from "./store.ts";
import type { CoordinatorView, InstanceView, RouteDecision, RouteRequest } from "./strategy.ts";

/** A connection slot frees as soon as any session ends, so a refused client may try again soon. */
const AUTOSCALE_RETRY_AFTER_S = 5;

/** `auto-<n>` ids built once: decisions scan every instance, and building strings there would dominate. */
const autoIds: string[] = [];
function autoId(n: number): string {
  for (let i = autoIds.length; i <= n; i++) autoIds.push(`auto-${i}`);
  return autoIds[n]!;
}

export class ScanAutoscaleStrategy extends BaseStrategy {
  readonly mode = "autoscale" as const;
  private readonly maxConnections: number;
  private readonly maxInstances: number;
  private readonly minContainers: number;
  private readonly scaleDownAfterMs: number;
  private readonly spares: SparePool;
  /** auto-0..auto-<known-1> have been used (or are the minimum); new ids come from here or just above. */
  private known: number;
  /** Spares handed a session: from then on they serve like auto-<n> instances until they are reaped. */
  private readonly claimed = new Set<string>();

  constructor(
    config: Pick<
      GatewayConfig,
      "maxConnectionsPerContainer" | "maxInstances" | "minContainers" | "scaleDownAfterMs" | "warmSpares"
    >,
    view: InstanceView,
    store: RoutingStore,
    clock: () => number,
  ) {
    super(view, store, clock);
    this.maxConnections = config.maxConnectionsPerContainer;
    this.maxInstances = config.maxInstances;
    this.minContainers = config.minContainers;
    this.scaleDownAfterMs = config.scaleDownAfterMs;
    this.spares = new SparePool(config.warmSpares, view, store);
    this.known = config.minContainers;
    // Built over a store that already holds sessions (a config reload; later, a replica joining a shared store):
    // instances in use stay known, so they keep getting sessions and are still scaled down.
    for (const { instanceId } of store.loads()) {
      const n = instanceId.startsWith("auto-") ? Number(instanceId.slice(5)) : -1;
      if (n >= this.known) this.known = n + 1;
      if (instanceId.startsWith("spare-")) this.claimed.add(instanceId); // bound once means claimed
    }
  }

  route({ sessionId }: RouteRequest): RouteDecision {
    if (sessionId === undefined) return this.sessionRequired();
    const holder = this.liveHolder(sessionId);
    if (holder !== undefined) return { ok: true, instanceId: holder };

    const best = this.leastLoaded();
    if (best !== undefined) return { ok: true, instanceId: best };
    const spare = this.spares.available();
    if (spare !== undefined) return { ok: true, instanceId: spare };
    if (this.occupancy.count() >= this.maxInstances) {
      return {
        ok: false,
        reason: "capacity",
        message: `at capacity: ${this.maxInstances} instances (MAX_INSTANCES) with ${this.maxConnections} sessions each; retry later`,
        retryAfterS: AUTOSCALE_RETRY_AFTER_S,
      };
    }
    return { ok: true, instanceId: this.lowestFreeId() };
  }

  override opened(sessionId: string, instanceId: string): void {
    super.opened(sessionId, instanceId);
    if (this.spares.claim(instanceId)) this.claimed.add(instanceId);
    const n = instanceId.startsWith("auto-") ? Number(instanceId.slice(5)) : -1;
    if (n >= this.known) this.known = n + 1;
  }

  override prewarmIds(): string[] {
    return Array.from({ length: this.minContainers }, (_, n) => autoId(n));
  }

  /** Instances above the minimum, running, with no session since SCALE_DOWN_AFTER: the gateway stops them. */
  override reap(nowMs: number): string[] {
    const stop: string[] = [];
    for (const id of this.scalable()) {
      if (this.loadOf(id) > 0) continue;
      if (!isLive(this.view, id)) {
        this.claimed.delete(id); // a reaped spare is forgotten; spare ids are never reused
        continue;
      }
      const since = this.store.lastChangeAtMs(id) ?? -Infinity;
      if (this.view.state(id) === "running" && nowMs - since >= this.scaleDownAfterMs) stop.push(id);
    }
    return stop;
  }

  override keepAwake(instanceId: string): boolean {
    const n = instanceId.startsWith("auto-") ? Number(instanceId.slice(5)) : -1;
    return (n >= 0 && n < this.minContainers) || this.spares.isSpare(instanceId);
  }

  override sparesToStart(): string[] {
    return this.spares.toStart(this.maxInstances - this.occupancy.count());
  }

  /** Every instance the coordinator knows, with its sessions, including the minimum ones that have none yet. */
  override coordinatorView(): CoordinatorView {
    const ids = [...this.prewarmIds(), ...this.scalable()];
    const instances = ids.map((id) => {
      const at = this.store.lastChangeAtMs(id);
      return {
        id,
        sessions: this.store.load(id),
        connections: this.view.connections(id),
        lastChangeAt: at === undefined ? null : new Date(at).toISOString(),
      };
    });
    return { instances, totalSessions: this.store.totalLoad() };
  }

  /**
   * The least-loaded instance that may take a session now and has room: the minimum ones always (a sleeping one
   * wakes), the others while starting, running or already routed to. Ties go to the lowest id. Plain loops: this
   * runs on every decision over every instance.
   */
  private leastLoaded(): string | undefined {
    let best: string | undefined;
    let bestLoad = this.maxConnections;
    const consider = (id: string, pinned: boolean) => {
      const state = this.view.state(id);
      if (state === "failed") return;
      const load = this.loadOf(id);
      if (load >= bestLoad) return;
      if (pinned || state === "starting" || state === "running" || load > 0) [best, bestLoad] = [id, load];
    };
    for (let n = 0; n < this.known; n++) consider(autoId(n), n < this.minContainers);
    for (const id of this.claimed) consider(id, false);
    return best;
  }

  /** Instances above the minimum: auto-<min>..auto-<known-1> and claimed spares. */
  private scalable(): string[] {
    const ids: string[] = [];
    for (let n = this.minContainers; n < this.known; n++) ids.push(autoId(n));
    return [...ids, ...this.claimed];
  }

  private lowestFreeId(): string {
    for (let n = this.minContainers; n < this.known; n++) {
      const id = autoId(n);
      const state = this.view.state(id);
      if (state !== "starting" && state !== "running" && state !== "stopping" && this.store.load(id) === 0) return id;
    }
    return autoId(this.known);
  }
}
