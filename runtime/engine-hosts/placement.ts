/**
 * Which engine host a new or waking instance goes to: the placeable host with the most free capacity (its
 * limit minus its running instances; hosts without a limit compare by fewer running), ties broken by
 * rendezvous hashing of the instance id, so an instance tends to return to the host it ran on (image and page
 * cache stay warm) and the choice moves as little as possible when a host joins or leaves.
 */
import { createHash } from "node:crypto";

/** What placement needs to know about one host. */
export interface PlacementCandidate {
  name: string;
  /** Up, has the image, not drained. */
  placeable: boolean;
  /** Instances running (or starting) on it, every gateway's. */
  running: number;
  limit: number | undefined;
}

/** No host can take another instance: every placeable one is at its limit, or none is placeable. */
export class NoHostAvailableError extends Error {
  override name = "NoHostAvailableError";
  constructor(
    message: string,
    /** Suggested Retry-After for the client. */
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}

/** A 64-bit score of (instance, host): the highest wins a tie. */
export function rendezvousScore(instanceId: string, hostName: string): bigint {
  return createHash("sha256").update(`${instanceId}\u0000${hostName}`).digest().readBigUInt64BE(0);
}

/** Room left: Infinity for a host without a limit. */
function free(host: PlacementCandidate): number {
  return host.limit === undefined ? Number.POSITIVE_INFINITY : host.limit - host.running;
}

/** Orders two hosts with room: more free first (unlimited ones by fewer running), then the higher hash score. */
function better(a: PlacementCandidate, b: PlacementCandidate, instanceId: string): boolean {
  const freeA = free(a);
  const freeB = free(b);
  if (freeA !== freeB) return freeA > freeB;
  if (freeA === Number.POSITIVE_INFINITY && a.running !== b.running) return a.running < b.running;
  return rendezvousScore(instanceId, a.name) > rendezvousScore(instanceId, b.name);
}

/** The host for `instanceId`; throws NoHostAvailableError (with why) when none can take it. */
export function chooseHost(hosts: readonly PlacementCandidate[], instanceId: string): string {
  let best: PlacementCandidate | undefined;
  for (const host of hosts) {
    if (!host.placeable || free(host) <= 0) continue;
    if (!best || better(host, best, instanceId)) best = host;
  }
  if (best) return best.name;
  const placeable = hosts.filter((host) => host.placeable);
  if (placeable.length === 0) {
    throw new NoHostAvailableError(
      `no engine host can take instances now (${hosts.map((h) => h.name).join(", ")}: down, draining or without the image)`,
      5,
    );
  }
  const full = placeable.map((host) => `${host.name} ${host.running}/${host.limit}`).join(", ");
  throw new NoHostAvailableError(`every engine host is at its limit (${full}); retry later`, 2);
}
