/**
 * Single-flight across gateways, on the real engine: 30 first sessions for one cold session id race over three
 * clustered gateways (10 each, opened at once). Exactly one container is ever created for it (the engine sampled
 * throughout, and the gateways' own "container started" lines), and every session is served by it.
 */
import { beforeAll, expect } from "bun:test";
import { EchoSession } from "../../../test/cluster/echo-session.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";

beforeAll(prepareImage, 300_000);

const RACERS_PER_GATEWAY = 10;

clusterTest(
  "30 racing first sessions for one id over 3 gateways start exactly 1 container, which serves them all",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "session", MAX_INSTANCES: "4", SLEEP_AFTER: "30s" } });
    try {
      // Every container id the engine shows while the race runs, even one created and removed at once.
      const seen = new Set<string>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          for (const c of await cluster.containers()) seen.add(c.id);
          await Bun.sleep(50);
        }
      })();
      const sessions = cluster.ids.flatMap((id) =>
        Array.from({ length: RACERS_PER_GATEWAY }, () => new EchoSession(cluster.gateway(id).listenUrl, "race-1")),
      );
      const metadata = await Promise.all(sessions.map((s) => s.metadata(30_000)));
      await Promise.all(sessions.map((s) => s.start(50)));
      await Promise.all(sessions.map((s) => s.flowing(3)));
      sampling = false;
      await sampler;
      for (const c of await cluster.containers()) seen.add(c.id);

      expect(new Set(metadata.map((m) => m.container)).size).toBe(1);
      const started = cluster.ids.map((id) => cluster.gateway(id).logs.filter((l) => l.msg === "Transcriber container started").length);
      console.log(
        `[single-flight] 30 sessions over 3 gateways: containers seen on the engine ${seen.size}, starts logged per gateway ${started.join(",")}`,
      );
      expect(seen.size).toBe(1);
      const running = await cluster.containers({ running: true });
      expect(running.map((c) => c.instance)).toEqual([metadata[0]!.container]);

      const outcomes = await Promise.all(sessions.map((s) => s.finish()));
      expect(outcomes.filter((o) => o.code !== 1000 || o.echoed !== o.sent)).toEqual([]);
      // A gateway that joined a peer's start did not start a container, and must not say it did.
      expect(started.reduce((sum, n) => sum + n, 0)).toBe(1);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
