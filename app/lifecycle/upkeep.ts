/**
 * The gateway's periodic upkeep: autoscale's scale-down, the SLEEP_AFTER idle reaper (sparing what the routing
 * keeps awake), and WARM_SPARES replenishment. One timer, one pass at a time.
 */
import type { GatewayState } from "../state.ts";

/** Milliseconds between passes: a tenth of the shortest idle timeout, between 250 ms and 30 s. */
export function upkeepIntervalMs(sleepAfterMs: number, scaleDownAfterMs: number): number {
  return Math.min(30_000, Math.max(250, Math.min(sleepAfterMs, scaleDownAfterMs) / 10));
}

/** Starts instances the routing wants as spares; each start runs in the background. */
export function replenishSpares(state: GatewayState): void {
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
  const { registry, upkeep, config } = state;
  const scaleDown = upkeep.reap(nowMs).map((id) => registry.get(id).sleep("scale-down"));
  await Promise.all(scaleDown);
  await registry.reapIdle(config.sleepAfterMs, (id) => upkeep.keepAwake(id));
  replenishSpares(state);
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
