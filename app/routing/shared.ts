/** `shared`: every session goes to the one instance named `shared`. */
import { BaseStrategy } from "./base.ts";
import type { RouteDecision } from "./strategy.ts";

export const SHARED_INSTANCE_ID = "shared";

export class SharedStrategy extends BaseStrategy {
  readonly mode = "shared" as const;

  route(): RouteDecision {
    return { ok: true, instanceId: SHARED_INSTANCE_ID };
  }
}
