/**
 * The names of an instance's lifecycle states, declared once: runtime/instance.ts moves through them, routing
 * reads them, /stats and /metrics show them (see docs/architecture.md, "Instance lifecycle").
 */

/** Every state an instance can be in, in lifecycle order (the order /metrics lists them). */
export const INSTANCE_STATES = ["idle", "starting", "running", "stopping", "sleeping", "failed"] as const;

export type InstanceStateName = (typeof INSTANCE_STATES)[number];

/** Starting or running: the instance holds (or is about to hold) a container, so it counts for MAX_INSTANCES. */
export function isLive(state: InstanceStateName | undefined): boolean {
  return state === "starting" || state === "running";
}
