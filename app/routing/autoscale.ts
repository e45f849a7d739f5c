/**
 * `autoscale`: an in-process coordinator. Sessions are counted per instance from the opened/closed hooks (each
 * session's own object calls both, once each); a new session goes to the least-loaded instance in service below
 * MAX_CONNECTIONS_PER_CONTAINER, else to a warm spare, else to a new `auto-<n>` (lowest free n) while fewer than
 * MAX_INSTANCES run, else it is refused. `auto-0`..`auto-<MIN_CONTAINERS-1>` are prewarmed and never reaped; the
 * others are reaped after SCALE_DOWN_AFTER without a session.
 *
 * Decisions do not scan the instances: the known ones (auto-<n> and claimed spares) are filed in LoadBuckets by
 * their session count, kept by opened()/closed()/reap(), and the pick starts from the lowest non-empty bucket,
 * checking state lazily. Ties go to the lowest auto-<n>, then to claimed spares in the order they were claimed.
 * The two picks are a seam (AutoscalePicks): a test gives the plain scans they replaced and compares decisions.
 */
import type { GatewayConfig } from "../config.ts";
import type { InstanceStateName } from "../../runtime/instance-state.ts";
import { BaseStrategy } from "./base.ts";
import { autoId, indexOf } from "./instance-ids.ts";
import { LoadBuckets } from "./load-buckets.ts";
import { isLive } from "./occupancy.ts";
import type { CoordinatorView, RouteDecision, RouteRequest } from "./selector.ts";
import { SparePool } from "./spares.ts";
import type { RoutingStore } from "./store.ts";
import type { InstanceView } from "./strategy.ts";

/** A connection slot frees as soon as any session ends, so a refused client may try again soon. */
export const AUTOSCALE_RETRY_AFTER_S = 5;

/** What a pick may read: the candidates autoscale knows and their loads, without its private bookkeeping. */
export interface AutoscaleCandidates {
  readonly maxConnections: number;
  readonly minContainers: number;
  /** auto-0..auto-<known-1> have been used (or are the minimum). */
  known(): number;
  /** Spares handed a session, in claim order. */
  claimed(): Iterable<string>;
  state(id: string): InstanceStateName | undefined;
  /** Open sessions routed to `id`. */
  load(id: string): number;
}

/** Autoscale's two picks; the default files candidates in LoadBuckets instead of scanning them. */
export interface AutoscalePicks {
  /** The least-loaded instance that may take a session now and has room, ties to the lowest id; else undefined. */
  leastLoaded(): string | undefined;
  /** The lowest auto-<n> above the minimum with no session and not up, else auto-<known>. */
  lowestFreeId(): string;
}

/** How long an instance a cluster-wide admission found full is skipped by this gateway's picks. */
const FULL_FOR_MS = 250;

/** Ranks of claimed spares start here, after every auto-<n> (n < MAX_INSTANCES <= 10,000), in claim order. */
const SPARE_RANK = 2 ** 31;

export class AutoscaleStrategy extends BaseStrategy {
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
  private readonly picks: AutoscalePicks;
  /** Candidates by store load: rank n is auto-<n>, rank SPARE_RANK + i is claimedIds[i]. */
  private readonly buckets: LoadBuckets;
  private readonly claimedIds: string[] = [];
  private readonly claimedRank = new Map<string, number>();
  /** Instances a cluster-wide admission found full, until when (ms epoch): the picks skip them meanwhile. */
  private readonly fullUntilMs = new Map<string, number>();
  /** Claimed spares reaped since: never candidates again (their ids are not reused). */
  private readonly reaped = new Set<string>();

  constructor(
    config: Pick<GatewayConfig, "maxConnectionsPerContainer" | "maxInstances" | "minContainers" | "scaleDownAfterMs" | "warmSpares">,
    view: InstanceView,
    store: RoutingStore,
    clock: () => number,
    /** The picks over this strategy's candidates; default: the bucketed ones. */
    picks?: (candidates: AutoscaleCandidates) => AutoscalePicks,
  ) {
    super(view, store, clock);
    this.maxConnections = config.maxConnectionsPerContainer;
    this.maxInstances = config.maxInstances;
    this.minContainers = config.minContainers;
    this.scaleDownAfterMs = config.scaleDownAfterMs;
    this.spares = new SparePool(config.warmSpares, view, store);
    this.known = 0;
    this.buckets = new LoadBuckets(this.maxConnections);
    this.picks = picks ? picks(this.candidates()) : { leastLoaded: () => this.leastLoaded(), lowestFreeId: () => this.lowestFreeId() };
    this.know(config.minContainers);
    // A peer's session opening or closing (a notice applied to a shared store) moves an instance between
    // buckets too; without this, one a peer filled and then freed would stay out of this gateway's picks, and
    // one only peers have used would never be a candidate here.
    store.watchLoads((instanceId) => this.heard(instanceId));
    // Built over a store that already holds sessions (a config reload; later, a replica joining a shared store):
    // instances in use stay known, so they keep getting sessions and are still scaled down.
    for (const { instanceId } of store.loads()) {
      const n = indexOf("auto", instanceId);
      if (n >= this.known) this.know(n + 1);
      if (indexOf("spare", instanceId) >= 0) this.addClaimed(instanceId); // bound once means claimed
    }
  }

  route({ sessionId }: RouteRequest): RouteDecision {
    if (sessionId === undefined) return this.sessionRequired();
    const holder = this.liveHolder(sessionId);
    if (holder !== undefined) return { ok: true, instanceId: holder };

    const best = this.picks.leastLoaded();
    if (best !== undefined) return { ok: true, instanceId: best };
    const spare = this.spares.available();
    if (spare !== undefined) return { ok: true, instanceId: spare };
    if (this.occupancy.count() >= this.maxInstances) {
      return {
        ok: false,
        status: 503,
        reason: "capacity",
        message: `at capacity: ${this.maxInstances} instances (MAX_INSTANCES) with ${this.maxConnections} sessions each; retry later`,
        retryAfterS: AUTOSCALE_RETRY_AFTER_S,
      };
    }
    return { ok: true, instanceId: this.picks.lowestFreeId() };
  }

  /**
   * Over a store shared by a cluster, the cap holds for every gateway at once: the session is counted on
   * `instanceId` only if that keeps it within MAX_CONNECTIONS_PER_CONTAINER cluster-wide (one Lua script).
   * Refused, the instance counts as full here for FULL_FOR_MS, long enough for the peers' notices to arrive.
   */
  async admit(sessionId: string, instanceId: string): Promise<boolean> {
    const nowMs = this.clock();
    if (await this.store.bindWithin(sessionId, instanceId, this.maxConnections, nowMs)) {
      this.noteAdmitted(sessionId, instanceId); // the bind itself was heard (heard()): known and refiled
      return true;
    }
    this.fullUntilMs.set(instanceId, nowMs + FULL_FOR_MS);
    // Known from now on, so the next pick of a fresh id goes past it rather than back to it.
    const n = indexOf("auto", instanceId);
    if (n >= this.known) this.know(n + 1);
    return false;
  }

  // Opens and closes reach the buckets through the store (heard()), as a peer's do.
  override opened(sessionId: string, instanceId: string): void {
    super.opened(sessionId, instanceId);
    if (this.spares.claim(instanceId)) this.addClaimed(instanceId);
  }

  override prewarmIds(): string[] {
    return Array.from({ length: this.minContainers }, (_, n) => autoId(n));
  }

  /** Instances above the minimum, running, with no session since SCALE_DOWN_AFTER: the gateway stops them. */
  override reap(nowMs: number): string[] {
    // Spares claimed through another gateway of a cluster were claimed here when their bind was heard.
    const stop: string[] = [];
    for (const id of this.scalable()) {
      if (this.loadOf(id) > 0) continue;
      if (!isLive(this.view, id)) {
        this.claimed.delete(id); // a reaped spare is forgotten; spare ids are never reused
        this.reaped.add(id);
        const rank = this.claimedRank.get(id);
        if (rank !== undefined) this.buckets.remove(rank);
        this.claimedRank.delete(id);
        continue;
      }
      const since = this.store.lastChangeAtMs(id) ?? -Infinity;
      if (this.view.state(id) === "running" && nowMs - since >= this.scaleDownAfterMs) stop.push(id);
    }
    return stop;
  }

  override keepAwake(instanceId: string): boolean {
    const n = indexOf("auto", instanceId);
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
   * wakes), the others while starting, running or already routed to. Ties go to the lowest id (auto-<n> by n,
   * then claimed spares in claim order). Buckets hold the store's count (loadOf()); loadNow checks the
   * rest (state) only for the candidates the pick visits.
   */
  private leastLoaded(): string | undefined {
    const rank = this.buckets.least(this.loadNow);
    return rank < 0 ? undefined : this.idOf(rank);
  }

  /** loadOf() for a filed candidate, or maxConnections when it may not take a session now. */
  private readonly loadNow = (rank: number): number => {
    const id = this.idOf(rank);
    const state = this.view.state(id);
    // A transcriber that says it cannot keep up takes no session while another instance (or a new one) can.
    if (state === "failed" || this.isFull(id) || this.view.accepting?.(id) === false) return this.maxConnections;
    const load = this.loadOf(id);
    const pinned = rank < this.minContainers;
    return pinned || state === "starting" || state === "running" || load > 0 ? load : this.maxConnections;
  };

  private isFull(id: string): boolean {
    if (this.fullUntilMs.size === 0) return false;
    const until = this.fullUntilMs.get(id);
    if (until === undefined) return false;
    if (until > this.clock()) return true;
    this.fullUntilMs.delete(id);
    return false;
  }

  private idOf(rank: number): string {
    return rank < SPARE_RANK ? autoId(rank) : this.claimedIds[rank - SPARE_RANK]!;
  }

  /** auto-<known>..auto-<n-1> become known, filed with their store loads. */
  private know(n: number): void {
    for (let i = this.known; i < n; i++) this.buckets.file(i, this.store.load(autoId(i)));
    this.known = n;
  }

  private addClaimed(id: string): void {
    if (this.claimedRank.has(id) || this.reaped.has(id)) return;
    const rank = SPARE_RANK + this.claimedIds.length;
    this.claimed.add(id);
    this.claimedIds.push(id);
    this.claimedRank.set(id, rank);
    this.buckets.file(rank, this.store.load(id));
  }

  /** An instance's count changed (here or at a peer): it becomes known, or a claimed spare, and is refiled. */
  private heard(id: string): void {
    const n = indexOf("auto", id);
    if (n >= this.known) this.know(n + 1);
    else if (indexOf("spare", id) >= 0 && this.store.load(id) > 0) this.addClaimed(id);
    this.refile(id);
  }

  /** Files a known instance under its store load after that changed (full ones leave the buckets). */
  private refile(id: string): void {
    let rank = this.claimedRank.get(id);
    if (rank === undefined) {
      const n = indexOf("auto", id);
      if (n >= 0 && n < this.known) rank = n;
    }
    if (rank !== undefined) this.buckets.file(rank, this.store.load(id));
  }

  /** Instances above the minimum: auto-<min>..auto-<known-1> and claimed spares. */
  private scalable(): string[] {
    const ids: string[] = [];
    for (let n = this.minContainers; n < this.known; n++) ids.push(autoId(n));
    return [...ids, ...this.claimed];
  }

  /**
   * The lowest auto-<n> above the minimum with no session and not up, else auto-<known>: from bucket 0. One the
   * cluster just refused as full is skipped: a peer filled it and its notice has not arrived yet.
   */
  private lowestFreeId(): string {
    const n = this.buckets.first(0, this.minContainers, this.known, this.isFreeToStart);
    return autoId(n < 0 ? this.known : n);
  }

  /** The candidates as a pick given from outside sees them (read-only views of this strategy's own fields). */
  private candidates(): AutoscaleCandidates {
    return {
      maxConnections: this.maxConnections,
      minContainers: this.minContainers,
      known: () => this.known,
      claimed: () => this.claimed,
      state: (id) => this.view.state(id),
      load: (id) => this.loadOf(id),
    };
  }

  private readonly isFreeToStart = (n: number): boolean => {
    const id = autoId(n);
    const state = this.view.state(id);
    return state !== "starting" && state !== "running" && state !== "stopping" && !this.isFull(id);
  };
}
