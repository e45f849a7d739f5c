/**
 * The routing seam: one module per mode, each a selector (selector.ts) and an upkeep policy
 * (upkeep-policy.ts) over the same routing state (see docs/architecture.md, "Seams"). A strategy reads instance
 * facts through InstanceView and keeps who-holds-what in a RoutingStore.
 */
import type { InstanceStateName } from "../../runtime/instance-state.ts";
import type { SessionSelector } from "./selector.ts";
import type { UpkeepPolicy } from "./upkeep-policy.ts";

/** What strategies may read about instances; the gateway's instance registry implements it. */
export interface InstanceView {
  /** undefined when the gateway never used `id`. */
  state(id: string): InstanceStateName | undefined;
  /** Open sessions on the instance (leases held), for /stats. */
  connections(id: string): number;
  /** Instances starting or running; sleeping, idle, stopping and failed ones do not count. */
  runningCount(): number;
  /**
   * False when the instance's transcriber says, in a fresh load report, that it takes no new session (it cannot
   * keep up): a strategy with somewhere else to put the session goes there. Absent: every instance accepts.
   */
  accepting?(id: string): boolean;
}

/** One routing mode: both halves, which share the mode's routing state. */
export type RoutingStrategy = SessionSelector & UpkeepPolicy;
