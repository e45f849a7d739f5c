/**
 * Brings back, by itself, an instance the routing counts on after its container crashed or failed to start:
 * prewarmed ones (POOL_PREWARM members, autoscale's minimum) and pool members (the pool routes around a failed
 * member, so no session would ever wake it). Each restart waits out the instance's start backoff, so a crash
 * loop or a bad image costs one start per backoff period.
 */
import { warmInBackground } from "./upkeep.ts";
import type { GatewayState } from "../state.ts";

/** Watches instance transitions; returns a function that stops watching and cancels pending restarts. */
export function restartFailedInstances(state: GatewayState): () => void {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const wanted = (id: string) => state.config.routingMode === "pool" || state.upkeep.prewarmIds().includes(id);
  const unsubscribe = state.registry.onStateChange((instance, _from, to) => {
    if (to !== "failed" || pending.has(instance.id) || !wanted(instance.id)) return;
    // At least 100 ms, so a container the engine has not finished tearing down is not raced.
    const delayMs = Math.max(100, instance.startBlockedForMs());
    const timer = setTimeout(() => {
      pending.delete(instance.id);
      if (state.draining || state.engineProblem || instance.stateName !== "failed") return;
      warmInBackground(state, instance.id, "restart after failure");
    }, delayMs);
    timer.unref?.();
    pending.set(instance.id, timer);
  });
  return () => {
    unsubscribe();
    for (const timer of pending.values()) clearTimeout(timer);
    pending.clear();
  };
}
