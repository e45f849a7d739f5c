/**
 * TEST ONLY: autoscale's two picks as they were before LoadBuckets (git 0cb1105): plain scans over every
 * candidate. Given to AutoscaleStrategy as its picks, everything else stays the strategy's own, so
 * autoscale-buckets.test.ts compares the picks alone, decision for decision.
 */
import type { AutoscaleCandidates, AutoscalePicks } from "./autoscale.ts";
import { autoId } from "./instance-ids.ts";

export function scanPicks(candidates: AutoscaleCandidates): AutoscalePicks {
  const { maxConnections, minContainers } = candidates;
  return {
    leastLoaded() {
      let best: string | undefined;
      let bestLoad = maxConnections;
      const consider = (id: string, pinned: boolean) => {
        const state = candidates.state(id);
        if (state === "failed") return;
        const load = candidates.load(id);
        if (load >= bestLoad) return;
        if (pinned || state === "starting" || state === "running" || load > 0) [best, bestLoad] = [id, load];
      };
      const known = candidates.known();
      for (let n = 0; n < known; n++) consider(autoId(n), n < minContainers);
      for (const id of candidates.claimed()) consider(id, false);
      return best;
    },
    lowestFreeId() {
      const known = candidates.known();
      for (let n = minContainers; n < known; n++) {
        const id = autoId(n);
        const state = candidates.state(id);
        if (state !== "starting" && state !== "running" && state !== "stopping" && candidates.load(id) === 0) return id;
      }
      return autoId(known);
    },
  };
}
