/**
 * The cluster soak's sampler: every running gateway's /stats against the sockets the soak holds, and the engine's
 * running containers against the pool. A count outside the bounds, or more than one running container for an
 * instance, is drift; drift that lasts `STREAK` samples outside a grace window (a fault's allowed settling time)
 * is a problem.
 */
import type { TestCluster } from "../../test/cluster/harness.ts";
import type { OpenBounds } from "./cluster-load.ts";

const STREAK = 3;

export class DriftWatch {
  readonly problems: string[] = [];
  private graceEndsAt = 0;
  private readonly streaks = new Map<string, number>();
  private samples = 0;
  private drifted = 0;
  private worst = 0;

  constructor(
    private readonly cluster: TestCluster,
    private readonly bounds: OpenBounds,
    private readonly poolSize: number,
  ) {}

  /** Mismatches are not counted until `atMs` (performance.now()); 0 ends any grace at once. */
  graceUntil(atMs: number): void {
    this.graceEndsAt = atMs === 0 ? 0 : Math.max(this.graceEndsAt, atMs);
  }

  /** One sample of every gateway's counts and the engine's containers. */
  async sample(): Promise<void> {
    // The gateways answer at some instant during the requests: the bounds are widened over their span.
    const [steadyBefore, liveBefore] = [this.bounds.steady, this.bounds.live];
    const docs = await this.cluster.stats();
    const steady = Math.min(steadyBefore, this.bounds.steady);
    const live = Math.max(liveBefore, this.bounds.live);
    const outside = (n: number) => (n < steady ? steady - n : n > live ? n - live : 0);
    const seen: Record<string, number> = {};
    seen["sum of the gateways' own open sessions"] = outside(Object.values(docs).reduce((sum, d) => sum + d.totals.openSessions, 0));
    for (const [id, doc] of Object.entries(docs)) {
      seen[`${id}: coordinator.totalSessions`] = outside(doc.coordinator.totalSessions);
      seen[`${id}: sum of gateways[].sessions`] = outside(
        (doc.gateways as Array<{ sessions: number }>).reduce((sum, g) => sum + g.sessions, 0),
      );
      seen[`${id}: sum of instances[].connections`] = outside(
        (doc.instances as Array<{ connections: number }>).reduce((sum, i) => sum + i.connections, 0),
      );
    }
    const running = await this.cluster.containers({ running: true });
    const perInstance = new Map<string, number>();
    for (const c of running) perInstance.set(c.instance, (perInstance.get(c.instance) ?? 0) + 1);
    for (const [instance, n] of perInstance) seen[`running containers for ${instance}`] = n - 1;
    seen["running containers over the pool size"] = Math.max(0, running.length - this.poolSize);

    const inGrace = performance.now() < this.graceEndsAt;
    this.samples++;
    let drifted = false;
    for (const [name, off] of Object.entries(seen)) {
      const streak = off > 0 && !inGrace ? (this.streaks.get(name) ?? 0) + 1 : 0;
      this.streaks.set(name, streak);
      if (streak > 0) {
        drifted = true;
        this.worst = Math.max(this.worst, off);
      }
      if (streak === STREAK) this.problems.push(`${name}: off by ${off} (open sockets ${steady}..${live}) for ${STREAK} samples`);
    }
    if (drifted) this.drifted++;
  }

  /** One line for the report. */
  summary(): string {
    return `${this.drifted} of ${this.samples} samples outside the bounds after the grace windows, worst by ${this.worst}`;
  }
}
