/**
 * Whether the instance routing chose can take a session now: not while the engine is down and the instance
 * has no running container (a session on a running one goes on), nor while its starts back off after failures,
 * nor (in a cluster) while the shared store is away and no container of it is known to run: a start needs a
 * claim there.
 */
import type { InstanceRegistry } from "../../runtime/instances.ts";
import type { Refusal } from "../refusal.ts";

/** Why `instanceId` cannot take a session now (503 + Retry-After), if so. */
export function containerRefusal(
  registry: Pick<InstanceRegistry, "get" | "has"> & Partial<Pick<InstanceRegistry, "startProblem">>,
  engineProblem: string | undefined,
  instanceId: string,
): Refusal | undefined {
  const instance = registry.has(instanceId) ? registry.get(instanceId) : undefined;
  const running = instance?.stateName === "running";
  if (engineProblem && !running) return { status: 503, reason: "engine_unavailable", message: engineProblem, retryAfterS: 5 };
  const storeProblem = running ? undefined : registry.startProblem?.(instanceId);
  if (storeProblem) return { status: 503, reason: "store_unavailable", message: storeProblem, retryAfterS: 2 };
  const blockedMs = instance?.startBlockedForMs() ?? 0;
  if (blockedMs > 0) {
    const retryAfterS = Math.ceil(blockedMs / 1000);
    const message = `container ${instanceId} could not start (${instance!.startFailures} attempts; retrying in ${retryAfterS} s): ${instance!.lastError}`;
    return { status: 503, reason: "container_backoff", message, retryAfterS };
  }
  return undefined;
}
