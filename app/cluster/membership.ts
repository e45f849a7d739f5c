/**
 * This gateway's standing in its cluster, on the directory's connection: the upkeep lease (one leader per
 * cluster), the live gateways as Redis holds their presence, and how far each is in leaving (so gateways stopped
 * at the same moment wait for each other's drains). Liveness is always asked of Redis, never of a local copy.
 */
import { LEASE, LEASE_DROP, LIVE, MARK } from "./directory-scripts.ts";
import type { InstanceDirectory } from "./directory.ts";

/** How far a gateway is in leaving: shutting down and draining its sessions, done draining, or not leaving. */
export type LeavingMark = "draining" | "drained" | "";

export class Membership {
  constructor(private readonly directory: Pick<InstanceDirectory, "eval" | "keys" | "gatewayId">) {}

  /** Holds (takes or keeps) the upkeep lease for `ttlMs`; true while this gateway holds it. */
  async lease(ttlMs: number): Promise<boolean> {
    const { keys, gatewayId } = this.directory;
    return (await this.directory.eval(LEASE, [keys.leader], [gatewayId, String(ttlMs)])) === 1;
  }

  /** Gives the upkeep lease up (if held). */
  async dropLease(): Promise<void> {
    await this.directory.eval(LEASE_DROP, [this.directory.keys.leader], [this.directory.gatewayId]);
  }

  /** The cluster's live gateways as Redis holds their presence now, each with its leaving mark ('' if none). */
  async liveGateways(): Promise<Map<string, LeavingMark>> {
    const { keys } = this.directory;
    const flat = (await this.directory.eval(LIVE, [keys.gateways, keys.leaving], [keys.prefix])) as string[];
    const out = new Map<string, LeavingMark>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, flat[i + 1] as LeavingMark);
    return out;
  }

  /** Says how far this gateway is in leaving the cluster (`''` clears it: a gateway that just started). */
  async mark(mark: LeavingMark): Promise<void> {
    await this.directory.eval(MARK, [this.directory.keys.leaving], [this.directory.gatewayId, mark]);
  }
}
