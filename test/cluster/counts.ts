/**
 * The cluster's counts against the truth the test holds: how many sockets are open through each gateway. Every
 * running gateway's /stats must agree: its own open sessions, each gateway's `sessions` in `gateways[]` (a dead
 * gateway listed at most with 0), the coordinator's cluster-wide total and the instances' cluster-wide
 * `connections`.
 */
import type { TestCluster } from "./harness.ts";

/** Open sockets the test holds, by the GATEWAY_ID they were opened through. */
export type OpenByGateway = Record<string, number>;

/** Every disagreement between the running gateways' /stats and `open`, one line each; empty when they agree. */
export async function countMismatches(cluster: TestCluster, open: OpenByGateway): Promise<string[]> {
  const total = Object.values(open).reduce((sum, n) => sum + n, 0);
  const docs = await cluster.stats();
  const problems: string[] = [];
  for (const [self, doc] of Object.entries(docs)) {
    const expect = (what: string, seen: unknown, truth: unknown) => {
      if (seen !== truth) problems.push(`${self}: ${what} ${JSON.stringify(seen)} != ${JSON.stringify(truth)}`);
    };
    expect("totals.openSessions", doc.totals.openSessions, open[self] ?? 0);
    expect("coordinator.totalSessions", doc.coordinator.totalSessions, total);
    const connections = (doc.instances as Array<{ connections: number }>).reduce((sum, i) => sum + i.connections, 0);
    expect("sum of instances[].connections", connections, total);
    const listed = new Map((doc.gateways as Array<{ id: string; sessions: number }>).map((g) => [g.id, g.sessions]));
    for (const id of cluster.runningIds) expect(`gateways[${id}] listed`, listed.has(id), true);
    for (const [id, sessions] of listed) expect(`gateways[${id}].sessions`, sessions, open[id] ?? 0);
  }
  return problems;
}

/** Polls until every count agrees with `open`, within `timeoutMs`; throws with the last disagreements. */
export async function countsSettle(cluster: TestCluster, open: OpenByGateway, timeoutMs = 3000): Promise<number> {
  const startedAt = performance.now();
  let problems: string[] = [];
  do {
    problems = await countMismatches(cluster, open);
    if (problems.length === 0) return performance.now() - startedAt;
    await Bun.sleep(50);
  } while (performance.now() - startedAt < timeoutMs);
  throw new Error(`counts did not match the open sockets within ${timeoutMs} ms:\n  ${problems.join("\n  ")}`);
}

/**
 * `countsSettle` that resolves with its failure as lines instead of throwing (empty when the counts settled), so
 * a scenario can go on to its other checks and assert the counts at its end.
 */
export async function countsSettleProblems(cluster: TestCluster, open: OpenByGateway, timeoutMs = 3000): Promise<string[]> {
  return countsSettle(cluster, open, timeoutMs).then(
    () => [],
    (error: Error) => error.message.split("\n").map((line) => line.trim()),
  );
}
