/**
 * What the routing strategies read about instances in a cluster: this gateway's registry for what it holds
 * itself, the instance directory for what the cluster holds. So MAX_INSTANCES' fast pre-check counts the
 * cluster's containers, a peer's running container counts as running here (affinity, autoscale's least-loaded
 * pick, session mode's spares), and the leader's upkeep sees every instance, not only those it used.
 */
import type { InstanceStateName } from "../../runtime/instance-state.ts";
import type { InstanceRegistry } from "../../runtime/instances.ts";
import type { InstanceView } from "../routing/strategy.ts";
import type { InstanceDirectory } from "./directory.ts";

export class ClusterInstanceView implements InstanceView {
  constructor(
    private readonly registry: Pick<InstanceRegistry, "state" | "connections" | "runningCount">,
    private readonly directory: Pick<InstanceDirectory, "get" | "count">,
  ) {}

  /**
   * This gateway's own state when it holds or is getting a container, or is stopping or failed there (a
   * failure it saw is routed around); else the cluster's record; else what this gateway last knew.
   */
  state(id: string): InstanceStateName | undefined {
    const local = this.registry.state(id);
    if (local === "running" || local === "starting" || local === "stopping" || local === "failed") return local;
    return this.directory.get(id)?.state ?? local;
  }

  /** Leases held on this gateway (for /stats). */
  connections(id: string): number {
    return this.registry.connections(id);
  }

  /** Instances starting or running in the cluster (this gateway's own count when Redis lost the directory). */
  runningCount(): number {
    return Math.max(this.directory.count(), this.registry.runningCount());
  }
}
