/**
 * The cluster's fault figures: duplicate container starts when 1,000 connects race over three gateways for a
 * handful of cold ids, and how long the others take to drop a SIGKILLed gateway's sessions from their counts.
 */
import { LABEL_GATEWAY } from "../../runtime/driver.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import type { GatewayProcess } from "../procs.ts";
import type { Report } from "../report.ts";
import { round3 } from "../stats.ts";
import { openAll, openSessions, startCluster, stopAll } from "./cluster-gateways.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/**
 * Session mode on Podman: 1,000 connects at once over the three gateways for `ids` cold ids; containers started
 * (cold starts and wakes over every gateway's /stats) minus ids, and the cluster's containers the engine runs. Then sessions through every gateway, one gateway SIGKILLed, and
 * the time until the others' counts hold only the sessions still open.
 */
export async function racingStartsAndKill(report: Report, redisUrl: string, quick: boolean): Promise<void> {
  const ids = 5;
  const connects = 1_000;
  const cluster = await startCluster(redisUrl, {
    ROUTING_MODE: "session",
    MAX_INSTANCES: "50",
    CONTAINER_DRIVER: "podman",
    CONTAINER_NETWORK: "host",
    TRANSCRIBER_BACKEND: "echo",
    SLEEP_AFTER: "1h",
  });
  const [a, b, doomed] = cluster.gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
  let killed = false;
  try {
    report.progress(`racing connects: ${connects} at once over 3 gateways for ${ids} cold ids (session mode, podman)`);
    const urls = Array.from({ length: connects }, (_, i) => `${cluster.gateways[i % 3]!.listenUrl}?sessionId=race-${i % ids}&${QUERY}`);
    const run = await runLoad(
      echoSpec(urls, { mode: "idle", awaitText: true, openConcurrency: connects, openTimeoutMs: 60_000, holdMs: 500 }),
    ).result;
    const docs = await Promise.all(cluster.gateways.map((g) => g.stats()));
    const started = docs.flatMap((doc) => doc.instances).reduce((sum: number, i: any) => sum + i.coldStarts + i.wakes, 0);
    // The engine's own count of the cluster's containers now (a fenced loser's removed container is not in it).
    const running = Bun.spawnSync(["podman", "ps", "-q", "--filter", `label=${LABEL_GATEWAY}=${cluster.name}`]).stdout.toString();
    report.set("cluster.duplicate_starts", {
      duplicates: started - ids,
      containers_started: started,
      containers_running: running.split("\n").filter(Boolean).length,
      ids,
      connects,
      opened: run.ok ? run.sessions : 0,
      ...(run.ok ? {} : { error: run.error }),
    });
    while ((await openSessions(cluster.gateways)) > 0) await Bun.sleep(50);

    const perGateway = quick ? 10 : 30;
    report.progress(`gateway SIGKILL: ${perGateway} sessions open through each gateway, then gw-3 killed`);
    const held = await openAll(
      Array.from({ length: perGateway * 3 }, (_, i) => `${cluster.gateways[i % 3]!.listenUrl}?sessionId=race-${i % ids}&${QUERY}`),
    );
    const survivors = perGateway * 2;
    const converged = async (g: GatewayProcess) => {
      const doc = await g.stats();
      const connections = doc.instances.reduce((sum: number, i: any) => sum + i.connections, 0);
      return doc.gateways.length === 2 && doc.coordinator.totalSessions === survivors && connections === survivors;
    };
    process.kill(doomed.pid, "SIGKILL");
    killed = true;
    const killedAt = performance.now();
    let seconds = Number.NaN;
    while (performance.now() - killedAt < 15_000) {
      if ((await converged(a)) && (await converged(b))) {
        seconds = round3((performance.now() - killedAt) / 1000);
        break;
      }
      await Bun.sleep(25);
    }
    report.set("cluster.sigkill_converge_s", { seconds, sessions_killed: perGateway, sessions_left: survivors });
    for (const ws of held) ws.close();
  } finally {
    await stopAll(killed ? [a, b] : cluster.gateways, cluster.name);
  }
}
