/**
 * What the gateway's routes share: configuration, the instance registry, the routing strategy, the open
 * relays and the counters /stats shows. Routing state stays behind this object so a shared store (Redis) can
 * replace the in-memory parts later without touching the routes.
 */
import type { InstanceRegistry } from "../runtime/instances.ts";
import type { GatewayConfig } from "./config.ts";
import { GatewayEvents } from "./events.ts";
import type { Logger } from "./log.ts";
import { MuxLinks } from "./session/mux-link.ts";
import type { Relay } from "./session/relay.ts";
import type { RoutingStrategy } from "./routing/strategy.ts";
import { ClientSecurity } from "./security/admission.ts";

export interface Refusal {
  reason: string;
  message: string;
  retryAfterS?: number;
}

/** How long a routed session may take to complete its upgrade before its routing is undone. */
const UPGRADE_DEADLINE_MS = 10_000;

/** Who a relayed session is, for its closing event. */
export interface SessionInfo {
  sessionId: string;
  instanceId: string;
  openedAtMs: number;
}

export class GatewayState {
  readonly relays = new Set<Relay>();
  /** One multiplexed link per running container, shared by its sessions. */
  readonly links = new MuxLinks();
  readonly events = new GatewayEvents();
  draining = false;
  /** Set while the container engine does not answer; new sessions are refused with its text. */
  engineProblem: string | undefined;
  sessionsTotal = 0;
  readonly closeCodes: Record<string, number> = {};
  readonly rejections: Record<string, number> = {};
  /** Per-client admission checks (rate, origin, credential, per-IP cap) and the per-IP connection counts. */
  readonly security: ClientSecurity;
  bytesIn = 0;
  bytesOut = 0;
  /** Routed sessions whose upgrade has not opened yet, by request id. */
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    /** One object for the gateway's life: a reload assigns the reloadable keys in place (app/reload/reload.ts). */
    readonly config: GatewayConfig,
    readonly registry: InstanceRegistry,
    /** Replaced on a config reload (rebuilt over the same routing store); read it at use time, never cache it. */
    public strategy: RoutingStrategy,
    readonly log: Logger,
    readonly driverName: string,
  ) {
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

  /** Why no new session can be taken right now, before routing (draining, MAX_SESSIONS), if so. */
  admission(): Refusal | undefined {
    if (this.draining) return { reason: "draining", message: "gateway is shutting down", retryAfterS: 5 };
    // Upgrades in flight count too, so a burst of handshakes cannot overshoot the cap.
    if (this.relays.size + this.pending.size >= this.config.maxSessions) {
      return { reason: "capacity", message: `gateway at capacity (MAX_SESSIONS=${this.config.maxSessions})`, retryAfterS: 2 };
    }
    return undefined;
  }

  /**
   * Why the routed instance cannot take a session now, if so: the engine is down and the instance has no
   * running container (a session on a running one goes on), or its starts are backing off after failures.
   */
  containerAdmission(instanceId: string): Refusal | undefined {
    const instance = this.registry.has(instanceId) ? this.registry.get(instanceId) : undefined;
    const running = instance?.stateName === "running";
    if (this.engineProblem && !running) return { reason: "engine_unavailable", message: this.engineProblem, retryAfterS: 5 };
    const blockedMs = instance?.startBlockedForMs() ?? 0;
    if (blockedMs > 0) {
      const message = `container ${instanceId} could not start (${instance!.startFailures} attempts; retrying in ${Math.ceil(blockedMs / 1000)} s): ${instance!.lastError}`;
      return { reason: "container_backoff", message, retryAfterS: Math.ceil(blockedMs / 1000) };
    }
    return undefined;
  }

  /** Why /readyz says not ready, if so: admission's reasons plus an unavailable engine. */
  readiness(): Refusal | undefined {
    const refusal = this.admission();
    if (refusal) return refusal;
    if (this.engineProblem) return { reason: "engine_unavailable", message: this.engineProblem, retryAfterS: 5 };
    return undefined;
  }

  /**
   * A session was routed: the strategy counts it at once (so a burst sees its own load). Should the upgrade
   * never open (a broken handshake), the count is undone after a deadline, so nothing leaks.
   */
  routed(requestId: string, sessionId: string, instanceId: string, undo?: () => void): void {
    this.strategy.opened(sessionId, instanceId);
    const timer = setTimeout(() => {
      this.pending.delete(requestId);
      this.strategy.closed(sessionId, instanceId);
      undo?.();
      this.log.warn({ requestId, instance: instanceId }, "routed session never completed its upgrade");
    }, UPGRADE_DEADLINE_MS);
    timer.unref?.();
    this.pending.set(requestId, timer);
  }

  /** The routed session's WebSocket opened; false when its routing already expired. */
  upgraded(requestId: string): boolean {
    const timer = this.pending.get(requestId);
    if (!timer) return false;
    clearTimeout(timer);
    this.pending.delete(requestId);
    return true;
  }

  countRejection(reason: string, status: number): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
    this.events.emit({ type: "rejected", reason, status });
  }

  sessionOpened(relay: Relay): void {
    this.relays.add(relay);
    this.sessionsTotal++;
  }

  sessionEnded(relay: Relay, code: number, info: SessionInfo): void {
    if (!this.relays.delete(relay)) return;
    this.closeCodes[code] = (this.closeCodes[code] ?? 0) + 1;
    this.bytesIn += relay.bytesIn;
    this.bytesOut += relay.bytesOut;
    this.events.emit({
      type: "session_closed",
      sessionId: info.sessionId,
      instanceId: info.instanceId,
      code,
      durationMs: performance.now() - info.openedAtMs,
      bytesIn: relay.bytesIn,
      bytesOut: relay.bytesOut,
    });
  }
}
