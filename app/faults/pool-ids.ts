/** Test helper: session ids that a pool of `size` routes to a given member when every member is healthy. */
import { routingConfig } from "../routing/test-config.ts";
import { createStrategy } from "../routing/index.ts";

/** The first `count` ids `${prefix}-N` whose rendezvous-hash member is `member` (e.g. `pool-1`). */
export function poolIdsFor(member: string, size: number, count = 1, prefix = "id"): string[] {
  const strategy = createStrategy(routingConfig({ ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: String(size) }), {
    state: () => undefined,
    connections: () => 0,
    runningCount: () => 0,
  });
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const decision = strategy.route({ sessionId: `${prefix}-${i}` });
    if (decision.ok && decision.instanceId === member) ids.push(`${prefix}-${i}`);
  }
  return ids;
}
