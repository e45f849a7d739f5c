/**
 * Autoscale's limits hold for the cluster, on the real engine: with MAX_CONNECTIONS_PER_CONTAINER=2 and
 * MAX_INSTANCES=3, sessions racing in through three gateways never put a third session on a container nor a
 * fourth container on the engine (sampled throughout); the seventh session is refused 503 + Retry-After whatever
 * gateway it reaches, and a slot freed on one gateway is taken through another.
 */
import { beforeAll, expect } from "bun:test";
import { EchoSession } from "../../../test/cluster/echo-session.ts";
import { countsSettle } from "../../../test/cluster/counts.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";
import { tryUpgrade } from "../../faults/gateway-process.ts";

beforeAll(prepareImage, 300_000);

const PER_CONTAINER = 2;
const MAX_INSTANCES = 3;

clusterTest(
  "autoscale: sessions spread over 3 gateways never exceed 2 per container nor 3 containers; the 7th is refused 503 everywhere",
  async () => {
    const cluster = await TestCluster.start({
      env: {
        ROUTING_MODE: "autoscale",
        MAX_CONNECTIONS_PER_CONTAINER: String(PER_CONTAINER),
        MAX_INSTANCES: String(MAX_INSTANCES),
        MIN_CONTAINERS: "1",
        SCALE_DOWN_AFTER: "60s",
        SLEEP_AFTER: "60s",
      },
    });
    try {
      let mostRunning = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          mostRunning = Math.max(mostRunning, (await cluster.containers({ running: true })).length);
          await Bun.sleep(50);
        }
      })();
      const [a, b, c] = cluster.ids.map((id) => cluster.gateway(id));
      // Two per gateway, all at once: each gateway alone would see room for all of its own.
      const placed = [a!, b!, c!].flatMap((g, gi) => [0, 1].map((n) => ({ session: new EchoSession(g.listenUrl, `auto-${gi}-${n}`) })));
      const metadata = await Promise.all(placed.map((p) => p.session.metadata(30_000)));
      await Promise.all(placed.map((p) => p.session.start()));
      const perInstance = new Map<string, number>();
      for (const m of metadata) perInstance.set(m.container, (perInstance.get(m.container) ?? 0) + 1);
      console.log(`[autoscale-cap] 6 sessions over 3 gateways placed as ${JSON.stringify(Object.fromEntries(perInstance))}`);
      expect([...perInstance.values()].every((n) => n <= PER_CONTAINER)).toBe(true);
      expect(perInstance.size).toBe(MAX_INSTANCES);

      for (const g of [a!, b!, c!]) {
        const refused = await tryUpgrade(g.listenUrl, "sessionId=one-too-many");
        expect({ gateway: g.port, status: refused.status }).toEqual({ gateway: g.port, status: 503 });
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      }
      await countsSettle(cluster, { "gw-a": 2, "gw-b": 2, "gw-c": 2 });
      for (const doc of Object.values(await cluster.stats())) {
        for (const instance of doc.instances) expect(instance.connections).toBeLessThanOrEqual(PER_CONTAINER);
      }

      // A slot freed through gw-a is taken through gw-c, on the container that had room.
      const leaving = placed[0]!;
      expect((await leaving.session.finish()).code).toBe(1000);
      await countsSettle(cluster, { "gw-a": 1, "gw-b": 2, "gw-c": 2 });
      const newcomer = new EchoSession(c!.listenUrl, "auto-late");
      const late = await newcomer.metadata().catch(async (error) => {
        // Refused: say what gw-c answered and what it knew, so a failure here explains itself.
        const probe = await tryUpgrade(c!.listenUrl, "sessionId=auto-late-probe");
        const seen = (await cluster.stats())["gw-c"]?.instances.map(
          (i: { id: string; connections: number; load: { accepting: boolean } | null }) => [i.id, i.connections, i.load?.accepting],
        );
        throw new Error(`${(error as Error).message}; a probe got ${probe.status} ${probe.body.trim()}; gw-c saw ${JSON.stringify(seen)}`);
      });
      expect(late.container).toBe(metadata[0]!.container);
      await newcomer.start();
      await newcomer.flowing(3);
      sampling = false;
      await sampler;
      expect(mostRunning).toBeLessThanOrEqual(MAX_INSTANCES);

      const outcomes = await Promise.all([...placed.slice(1).map((p) => p.session), newcomer].map((s) => s.finish()));
      expect(outcomes.filter((o) => o.code !== 1000 || o.echoed !== o.sent)).toEqual([]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
