/**
 * TEST ONLY: autoscale's two picks as they were before LoadBuckets (git 0cb1105): plain scans over every
 * instance. Everything else is AutoscaleStrategy's own, so autoscale-buckets.test.ts compares the picks alone,
 * decision for decision, and times them side by side.
 */
import { AutoscaleStrategy, autoId } from "./autoscale.ts";

export class ScanAutoscaleStrategy extends AutoscaleStrategy {
  /** The least-loaded instance that may take a session now and has room; ties go to the lowest id. */
  protected override leastLoaded(): string | undefined {
    let best: string | undefined;
    let bestLoad = this.maxConnections;
    const consider = (id: string, pinned: boolean) => {
      const state = this.view.state(id);
      if (state === "failed") return;
      const load = this.loadOf(id);
      if (load >= bestLoad) return;
      if (pinned || state === "starting" || state === "running" || load > 0) [best, bestLoad] = [id, load];
    };
    for (let n = 0; n < this.known; n++) consider(autoId(n), n < this.minContainers);
    for (const id of this.claimed) consider(id, false);
    return best;
  }

  /** The lowest auto-<n> above the minimum with no session and not up, else auto-<known>. */
  protected override lowestFreeId(): string {
    for (let n = this.minContainers; n < this.known; n++) {
      const id = autoId(n);
      const state = this.view.state(id);
      if (state !== "starting" && state !== "running" && state !== "stopping" && this.store.load(id) === 0) return id;
    }
    return autoId(this.known);
  }
}
