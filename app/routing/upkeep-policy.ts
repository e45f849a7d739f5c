/**
 * The upkeep half of a routing strategy: which instances the gateway keeps, starts or stops without a session
 * asking (see docs/architecture.md, "Routing"). app/lifecycle/ acts on its answers; it starts and stops
 * nothing itself. Its other half, where sessions go, is selector.ts.
 */
export interface UpkeepPolicy {
  /** Instance ids to start at boot and keep awake (pool members with POOL_PREWARM, autoscale's minimum). */
  prewarmIds(): string[];
  /**
   * The reaper's pass: ids the gateway should stop now (autoscale: above the minimum, no session for
   * SCALE_DOWN_AFTER). Also forgets routing facts that went stale. [] in modes that only sleep on SLEEP_AFTER.
   */
  reap(nowMs: number): string[];
  /**
   * Whether the SLEEP_AFTER reaper must leave this instance up although it has no session: autoscale's minimum
   * and unclaimed spares (else a spare would sleep and be restarted every SLEEP_AFTER).
   */
  keepAwake(instanceId: string): boolean;
  /** WARM_SPARES: spare ids the gateway should start now (within MAX_INSTANCES); [] when none are wanted. */
  sparesToStart(): string[];
}
