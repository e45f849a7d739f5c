/**
 * What the gateway's routes share: configuration, the instance registry, the routing strategy, the open
 * relays and the counters /stats shows. Routing state stays behind this object so a shared store (Redis) can
 * replace the in-memory parts later without touching the routes.
 */
import type { InstanceRegistry } from "../runtime/instances.ts";
import type { GatewayConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Relay } from "./relay.ts";
import type { RoutingStrategy } from "./routing/strategy.ts";

export interface Refusal {
  reason: string;
  message: string;
  retryAfterS?: number;
}

export class GatewayState {
  readonly relays = new Set<Relay>();
  draining = false;
  /** Set while the container engine does not answer; new sessions are refused with its text. */
  engineProblem: string | undefined;
  sessionsTotal = 0;
  readonly closeCodes: Record<string, number> = {};
  readonly rejections: Record<string, number> = {};
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly config: GatewayConfig,
    readonly registry: InstanceRegistry,
    readonly strategy: RoutingStrategy,
    readonly log: Logger,
    readonly driverName: string,
  ) {}

  /** Why no new session can be taken right now, if so. */
  admission(): Refusal | undefined {
    if (this.draining) return { reason: "draining", message: "gateway is shutting down", retryAfterS: 5 };
    if (this.engineProblem) return { reason: "engine_unavailable", message: this.engineProblem, retryAfterS: 5 };
    return undefined;
  }

  countRejection(reason: string): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
  }

  sessionOpened(relay: Relay): void {
    this.relays.add(relay);
    this.sessionsTotal++;
  }

  sessionEnded(relay: Relay, code: number): void {
    if (!this.relays.delete(relay)) return;
    this.closeCodes[code] = (this.closeCodes[code] ?? 0) + 1;
    this.bytesIn += relay.bytesIn;
    this.bytesOut += relay.bytesOut;
  }
}
