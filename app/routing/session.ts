/**
 * `session`: one dedicated instance per sessionId, `session-<first 16 hex of sha256(sessionId)>`, so the raw id
 * never reaches a container name. A reconnect lands on the same instance (warm within SLEEP_AFTER, woken after).
 *
 * WARM_SPARES: a new session whose own instance is not up takes an unclaimed running spare instead; opened()
 * records the spare as that session's own (store.assign), so its reconnects follow it while the spare runs.
 * Once the spare sleeps the assignment is dropped and the session falls back to `session-<hash>` (a woken spare
 * would be a fresh container anyway).
 */
import type { GatewayConfig } from "../config.ts";
import { BaseStrategy } from "./base.ts";
import { sessionInstanceId } from "./instance-ids.ts";
import { isLive } from "./occupancy.ts";
import type { RouteDecision, RouteRequest } from "./selector.ts";
import { SparePool } from "./spares.ts";
import type { RoutingStore } from "./store.ts";
import type { InstanceView } from "./strategy.ts";

/** A slot frees when a session ends and its instance sleeps: SLEEP_AFTER later at best, asked again within a minute. */
export function sessionRetryAfterS(sleepAfterMs: number): number {
  return Math.min(60, Math.max(1, Math.ceil(sleepAfterMs / 1000)));
}

export class SessionStrategy extends BaseStrategy {
  readonly mode = "session" as const;
  private readonly maxInstances: number;
  private readonly retryAfterS: number;
  private readonly spares: SparePool;

  constructor(
    config: Pick<GatewayConfig, "maxInstances" | "sleepAfterMs" | "warmSpares">,
    view: InstanceView,
    store: RoutingStore,
    clock: () => number,
  ) {
    super(view, store, clock);
    this.maxInstances = config.maxInstances;
    this.retryAfterS = sessionRetryAfterS(config.sleepAfterMs);
    this.spares = new SparePool(config.warmSpares, view, store);
  }

  route({ sessionId }: RouteRequest): RouteDecision {
    if (sessionId === undefined) return this.sessionRequired();
    const holder = this.liveHolder(sessionId);
    if (holder !== undefined) return { ok: true, instanceId: holder };
    const dedicated = this.store.dedicated(sessionId);
    if (dedicated !== undefined && isLive(this.view, dedicated)) return { ok: true, instanceId: dedicated };

    const own = sessionInstanceId(sessionId);
    if (isLive(this.view, own) || this.store.load(own) > 0) return { ok: true, instanceId: own };
    const spare = this.spares.available();
    if (spare !== undefined) return { ok: true, instanceId: spare };
    if (this.occupancy.count() >= this.maxInstances) {
      return {
        ok: false,
        status: 503,
        reason: "capacity",
        message: `at capacity: ${this.maxInstances} instances running (MAX_INSTANCES); retry later`,
        retryAfterS: this.retryAfterS,
      };
    }
    return { ok: true, instanceId: own };
  }

  override opened(sessionId: string, instanceId: string): void {
    super.opened(sessionId, instanceId);
    if (this.spares.claim(instanceId)) this.store.assign(sessionId, instanceId);
    // Back on its own instance (the spare it had went to sleep): the old assignment is stale.
    else if (this.store.dedicated(sessionId) !== undefined && instanceId === sessionInstanceId(sessionId)) {
      this.store.release(sessionId);
    }
  }

  /** Session instances sleep on SLEEP_AFTER like any other; this only forgets spares that stopped running. */
  override reap(_nowMs: number): string[] {
    for (const [sessionId, instanceId] of this.store.assignments()) {
      if (!isLive(this.view, instanceId) && this.store.load(instanceId) === 0) this.store.release(sessionId);
    }
    return [];
  }

  override keepAwake(instanceId: string): boolean {
    return this.spares.isSpare(instanceId);
  }

  override sparesToStart(): string[] {
    return this.spares.toStart(this.maxInstances - this.occupancy.count());
  }
}
