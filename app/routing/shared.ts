/** `shared`: every session goes to the one instance named `shared`. */
import type { RouteDecision, RoutingStrategy } from "./strategy.ts";

export const SHARED_INSTANCE_ID = "shared";

export class SharedStrategy implements RoutingStrategy {
  readonly mode = "shared" as const;

  route(): RouteDecision {
    return { ok: true, instanceId: SHARED_INSTANCE_ID };
  }

  prewarmIds(): string[] {
    return [];
  }
}
