/**
 * Whether the instance routing chose can take a session now: not while the engine is down and the instance
 * has no running container (a session on a running one goes on), nor while its starts back off after failures,
 * nor, with several engine hosts, while no host can take the start it needs (the driver's placementRefusal),
 * nor (in a cluster) while the shared store is away and no container of it is known to run: a start needs a
 * claim there.
 */
import type { ContainerDriver } from "../../runtime/driver.ts";
import type { InstanceRegistry } from "../../runtime/instances.ts";
import type { Refusal } from "../refusal.ts";

/** Why `instanceId` cannot take a session now (503 + Retry-After), if so. */
export function containerRefusal(
  registry: Pick<InstanceRegistry, "get" | "has"> &
    Partial<Pick<InstanceRegistry, "startProblem">> & { driver?: Pick<ContainerDriver, "engineHosts"> },
  engineProblem: string | undefined,
  instanceId: string,
): Refusal | undefined {
  const instance = registry.has(instanceId) ? registry.get(instanceId) : undefined;
  const running = instance?.stateName === "running";
  if (engineProblem && !running) return { status: 503, reason: "engine_unavailable", message: engineProblem, retryAfterS: 5 };
  const storeProblem = running ? undefined : registry.startProblem?.(instanceId);
  if (storeProblem) return { status: 503, reason: "store_unavailable", message: storeProblem, retryAfterS: 2 };
  // Several engine hosts: a start no host can take (all full, down or drained) is refused like MAX_INSTANCES.
  if (!running && instance?.stateName !== "starting") {
    const placement = registry.driver?.engineHosts?.().placementRefusal(instanceId);
    if (placement) return { status: 503, reason: "hosts_full", ...placement };
  }
  const blockedMs = instance?.startBlockedForMs() ?? 0;
  if (blockedMs > 0) {
    const retryAfterS = Math.ceil(blockedMs / 1000);
    const message = `container ${instanceId} could not start (${instance!.startFailures} attempts; retrying in ${retryAfterS} s): ${instance!.lastError}`;
    return { status: 503, reason: "container_backoff", message, retryAfterS };
  }
  return undefined;
}
