/**
 * The gateway's periodic upkeep: autoscale's scale-down, the SLEEP_AFTER idle reaper (sparing what the routing
 * keeps awake), and WARM_SPARES replenishment. One timer, one pass at a time. In a cluster only the gateway
 * holding the upkeep lease runs it, over the cluster's instances (app/cluster/cluster-upkeep.ts), plus the
 * prewarm ids, adoption and the orphan sweep; the others run none of it.
 */
import { isLive } from "../../runtime/instance-state.ts";
import { reconcile, sleepIdle } from "../cluster/cluster-upkeep.ts";
import type { GatewayState } from "../state.ts";

/** Milliseconds between passes: a tenth of the shortest idle timeout, between 250 ms and 30 s. */
export function upkeepIntervalMs(sleepAfterMs: number, scaleDownAfterMs: number): number {
  return Math.min(30_000, Math.max(250, Math.min(sleepAfterMs, scaleDownAfterMs) / 10));
}

/** Starts instances the routing wants as spares; each start runs in the background. */
export function replenishSpares(state: GatewayState): void {
  if (!state.runsUpkeep) return;
  for (const id of state.upkeep.sparesToStart()) warmInBackground(state, id, "spare");
}

/** Starts an instance without a session (prewarm, spares); a failure is logged, not thrown. */
export function warmInBackground(state: GatewayState, id: string, why: string): void {
  state.registry
    .get(id)
    .warm()
    .catch((error: unknown) =>
      state.log.warn({ instance: id, why, error: (error as Error).message }, "could not start instance ahead of use"),
    );
}

/** One upkeep pass. */
export async function upkeepPass(state: GatewayState, nowMs = Date.now()): Promise<void> {
  const { registry, upkeep, config, cluster } = state;
  if (!cluster) {
    await Promise.all(upkeep.reap(nowMs).map((id) => registry.get(id).sleep("scale-down")));
    await registry.reapIdle(config.sleepAfterMs, (id) => upkeep.keepAwake(id));
    return replenishSpares(state);
  }
  if (!cluster.leading) return;
  await Promise.all(upkeep.reap(nowMs).map((id) => cluster.driver.stopInstance(id, "scale-down").catch(() => false)));
  await sleepIdle(cluster, config.sleepAfterMs, (id) => upkeep.keepAwake(id), nowMs);
  const view = state.instanceView;
  for (const id of upkeep.prewarmIds()) if (!isLive(view.state(id))) warmInBackground(state, id, "prewarm");
  replenishSpares(state);
  await reconcile(cluster, nowMs);
}

/** Runs upkeep passes until the returned function is called. The timer does not keep the process alive. */
export function startUpkeep(state: GatewayState): () => void {
  let running: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      running ??= upkeepPass(state)
        .catch((error: unknown) => state.log.warn({ error: (error as Error).message }, "upkeep pass failed"))
        .finally(() => (running = undefined));
    },
    upkeepIntervalMs(state.config.sleepAfterMs, state.config.scaleDownAfterMs),
  );
  timer.unref?.();
  return () => clearInterval(timer);
}
