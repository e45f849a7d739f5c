/**
 * What the gateway's routes share: the current configuration, the instance registry, the routing strategy
 * (as its two halves), the session counts, and the gateway-wide conditions (draining, an unavailable engine).
 * Each field is written here only, through a method named for what happened; everything else reads.
 */
import type { InstanceRegistry } from "../runtime/instances.ts";
import type { ClusterMember } from "./cluster/member.ts";
import type { GatewayConfig } from "./config.ts";
import { GatewayEvents } from "./events.ts";
import type { Logger } from "./log.ts";
import type { Refusal } from "./refusal.ts";
import type { SessionSelector } from "./routing/selector.ts";
import type { RoutingStore } from "./routing/store.ts";
import type { InstanceView, RoutingStrategy } from "./routing/strategy.ts";
import type { UpkeepPolicy } from "./routing/upkeep-policy.ts";
import { ClientSecurity } from "./security/admission.ts";
import { SessionBook } from "./session/book.ts";
import { TranscriberLoads, withLoads } from "./session/load-refusal.ts";
import { MuxLinks } from "./session/mux-link.ts";
import type { Relay } from "./session/relay.ts";

/**
 * What strategies read about instances: the cluster's view in a cluster, else the registry itself, with each
 * transcriber's own word on whether it takes another session.
 */
export function strategyView(registry: InstanceRegistry, cluster: ClusterMember | undefined, loads: TranscriberLoads): InstanceView {
  return withLoads(cluster ? cluster.view(registry) : registry, loads);
}

/**
 * A link holding more than this share of BACKPRESSURE_LIMIT_BYTES counts as behind. Relays pause their client above
 * half and resume it at a quarter, so a link that stays over a quarter is one whose transcriber stays slower than
 * its input; at half it would hide that, since pausing holds the link just under half.
 */
const LINK_BEHIND_FRACTION = 4;

export class GatewayState {
  /** One multiplexed link per running container, shared by its sessions. */
  readonly links = new MuxLinks(5_000, () => this.config.backpressureLimitBytes / LINK_BEHIND_FRACTION);
  readonly events = new GatewayEvents();
  /** Sessions upgrading and open, and the totals of those that ended; only Session writes it. */
  readonly sessions = new SessionBook(this.events);
  readonly rejections: Record<string, number> = {};
  /** Per-client admission checks (rate, origin, credential, per-IP cap) and the per-IP connection counts. */
  readonly security: ClientSecurity;
  private currentConfig: Readonly<GatewayConfig>;
  private strategy: RoutingStrategy;
  private drainingNow = false;
  private engineProblemNow: string | undefined;

  constructor(
    config: GatewayConfig,
    readonly registry: InstanceRegistry,
    strategy: RoutingStrategy,
    readonly log: Logger,
    readonly driverName: string,
    /** The routing store the strategies keep their state in (read here for /stats: kind, availability, gateways). */
    readonly store: RoutingStore,
    /** This gateway as a member of a cluster (ROUTING_STORE=redis); undefined for a gateway on its own. */
    readonly cluster?: ClusterMember,
    /** Each running transcriber's last load report (app/lifecycle/load-monitor.ts reads them). */
    readonly loads = new TranscriberLoads(),
  ) {
    this.currentConfig = Object.freeze({ ...config });
    loads.watchLinks((instanceId) => {
      const containerId = registry.has(instanceId) ? registry.get(instanceId).containerId : undefined;
      return containerId ? this.links.backlog(containerId) : undefined;
    });
    // The store's count (cluster-wide in a cluster) is taken when a session is routed, before its upgrade.
    loads.watchSessions((instanceId) => store.load(instanceId));
    this.strategy = strategy;
    this.security = new ClientSecurity(config);
    registry.onStateChange((instance, from, to) =>
      this.events.emit({
        type: "instance",
        instanceId: instance.id,
        from,
        to,
        start: to === "running" ? instance.lastStart : undefined,
        error: to === "failed" ? instance.lastError : undefined,
      }),
    );
  }

  /** What strategies read about instances (strategyView), for a strategy rebuilt by a reload. */
  get instanceView(): InstanceView {
    return strategyView(this.registry, this.cluster, this.loads);
  }

  /** Whether this gateway runs the upkeep: always on its own; in a cluster only while it holds the lease. */
  get runsUpkeep(): boolean {
    return this.cluster ? this.cluster.leading : true;
  }

  /** The configuration now (frozen); a reload swaps in a new object, so read it at use time, never keep it. */
  get config(): Readonly<GatewayConfig> {
    return this.currentConfig;
  }

  /** Where new sessions go: the current strategy's selector half. Read at use time (a reload replaces it). */
  get selector(): SessionSelector {
    return this.strategy;
  }

  /** What to keep running without a session: the current strategy's upkeep half. Read at use time. */
  get upkeep(): UpkeepPolicy {
    return this.strategy;
  }

  /** True once shutdown began: new sessions are refused and /readyz says 503. */
  get draining(): boolean {
    return this.drainingNow;
  }

  /** What is wrong with the container engine while it does not answer, else undefined. */
  get engineProblem(): string | undefined {
    return this.engineProblemNow;
  }

  /** A reload: the new configuration (frozen here) and the strategy rebuilt for it over the same store. */
  reconfigured(config: GatewayConfig, strategy: RoutingStrategy): void {
    this.currentConfig = Object.freeze({ ...config });
    this.strategy = strategy;
  }

  /** Shutdown began; there is no way back. */
  beginDraining(): void {
    this.drainingNow = true;
  }

  /** The engine monitor's verdict changed: the problem text, or undefined when the engine answers again. */
  engineChanged(problem: string | undefined): void {
    this.engineProblemNow = problem;
  }

  /** Relays of the open sessions. */
  get relays(): ReadonlySet<Relay> {
    return this.sessions.relays;
  }

  /** Ended sessions by close code. */
  get closeCodes(): Readonly<Record<string, number>> {
    return this.sessions.closeCodes;
  }

  /** Why no new session can be taken right now, before routing (draining, MAX_SESSIONS), if so. */
  admission(): Refusal | undefined {
    if (this.drainingNow) return { status: 503, reason: "draining", message: "gateway is shutting down", retryAfterS: 5 };
    // Upgrades in flight count too, so a burst of handshakes cannot overshoot the cap.
    const { maxSessions } = this.currentConfig;
    if (this.sessions.inFlight >= maxSessions) {
      return { status: 503, reason: "capacity", message: `gateway at capacity (MAX_SESSIONS=${maxSessions})`, retryAfterS: 2 };
    }
    return undefined;
  }

  /** Why /readyz says not ready, if so: admission's reasons plus an unavailable engine. */
  readiness(): Refusal | undefined {
    const refusal = this.admission();
    if (refusal) return refusal;
    if (this.engineProblemNow) return { status: 503, reason: "engine_unavailable", message: this.engineProblemNow, retryAfterS: 5 };
    return undefined;
  }

  countRejection(reason: string, status: number): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
    this.events.emit({ type: "rejected", reason, status });
  }
}
