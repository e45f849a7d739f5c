/**
 * What the gateway's routes share: configuration, the instance registry, the routing strategy, the open
 * relays and the counters /stats shows. Routing state stays behind this object so a shared store (Redis) can
 * replace the in-memory parts later without touching the routes.
 */
import type { InstanceRegistry } from "../runtime/instances.ts";
import type { GatewayConfig } from "./config.ts";
import { GatewayEvents } from "./events.ts";
import type { Logger } from "./log.ts";
import type { Relay } from "./relay.ts";
import type { RoutingStrategy } from "./routing/strategy.ts";

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
  readonly events = new GatewayEvents();
  draining = false;
  /** Set while the container engine does not answer; new sessions are refused with its text. */
  engineProblem: string | undefined;
  sessionsTotal = 0;
  readonly closeCodes: Record<string, number> = {};
  readonly rejections: Record<string, number> = {};
  bytesIn = 0;
  bytesOut = 0;
  /** Routed sessions whose upgrade has not opened yet, by request id. */
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    readonly config: GatewayConfig,
    readonly registry: InstanceRegistry,
    readonly strategy: RoutingStrategy,
    readonly log: Logger,
    readonly driverName: string,
  ) {
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

  /** Why no new session can be taken right now, if so. */
  admission(): Refusal | undefined {
    if (this.draining) return { reason: "draining", message: "gateway is shutting down", retryAfterS: 5 };
    if (this.engineProblem) return { reason: "engine_unavailable", message: this.engineProblem, retryAfterS: 5 };
    return undefined;
  }

  /**
   * A session was routed: the strategy counts it at once (so a burst sees its own load). Should the upgrade
   * never open (a broken handshake), the count is undone after a deadline, so nothing leaks.
   */
  routed(requestId: string, sessionId: string, instanceId: string): void {
    this.strategy.opened(sessionId, instanceId);
    const timer = setTimeout(() => {
      this.pending.delete(requestId);
      this.strategy.closed(sessionId, instanceId);
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
