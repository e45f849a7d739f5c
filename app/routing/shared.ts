/** `shared`: every session goes to the one instance named `shared`. */
import { BaseStrategy } from "./base.ts";
import { SHARED_INSTANCE_ID } from "./instance-ids.ts";
import type { RouteDecision } from "./selector.ts";

export class SharedStrategy extends BaseStrategy {
  readonly mode = "shared" as const;

  route(): RouteDecision {
    return { ok: true, instanceId: SHARED_INSTANCE_ID };
  }
}
