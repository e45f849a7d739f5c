/**
 * Redis SIGKILLed under a serving cluster and restarted empty, on the real engine (three gateways, echo
 * transcribers, session mode). During the outage open sessions never notice (no frame lost), a new session for
 * a running instance is served warm from the cached view, a session that needs a start is refused 503 +
 * Retry-After, /readyz stays 200 and /stats says the store is unavailable. Once Redis is back, empty, starts work
 * again within 5 s and every count matches the open sockets.
 */
import { beforeAll, expect } from "bun:test";
import { countsSettleProblems } from "../../../test/cluster/counts.ts";
import { EchoSession } from "../../../test/cluster/echo-session.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";
import { pollUntil } from "../../../test/wait.ts";
import { tryUpgrade } from "../../faults/gateway-process.ts";

beforeAll(prepareImage, 300_000);

/** Redis back: the cluster serves starts again within this (the contract's bound). */
const BACK_WITHIN_MS = 5000;

/** Opens a session through `listenUrl`, retrying every 200 ms while it is refused, until `deadline` (performance.now()). */
async function servedBy(deadline: number, listenUrl: string, sessionId: string): Promise<EchoSession> {
  for (;;) {
    const session = new EchoSession(listenUrl, sessionId);
    const outcome = await Promise.race([session.metadata(5000).then(() => "served"), session.client.closed.then(() => "refused")]);
    if (outcome === "served") return session;
    if (performance.now() > deadline) throw new Error(`${sessionId} was still refused ${BACK_WITHIN_MS} ms after Redis came back`);
    await Bun.sleep(200);
  }
}

clusterTest(
  "Redis killed and restarted empty with sessions open: nothing lost, warm sessions served, starts 503 during, served within 5 s after, counts match",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "session", MAX_INSTANCES: "6", SLEEP_AFTER: "30s" } });
    try {
      const [a, b, c] = cluster.ids.map((id) => cluster.gateway(id));
      const held = [
        new EchoSession(a!.listenUrl, "held-a"),
        new EchoSession(b!.listenUrl, "held-b"),
        new EchoSession(c!.listenUrl, "held-c"),
      ];
      await Promise.all(held.map((s) => s.start()));
      await Promise.all(held.map((s) => s.flowing(3)));
      const heldA = await held[0]!.metadata();

      await cluster.redis.kill();
      await pollUntil(
        async () => Object.values(await cluster.stats()).every((doc) => doc.store.available === false),
        "every gateway's /stats to say the store is unavailable",
        5000,
        50,
      );
      for (const g of [a!, b!, c!]) expect((await fetch(`${g.httpUrl}/readyz`)).status).toBe(200);
      // A second socket for a running instance, through another gateway: served from the cached view.
      const warm = new EchoSession(b!.listenUrl, "held-a");
      const warmMetadata = await warm.metadata();
      expect([warmMetadata.container, warmMetadata.start]).toEqual([heldA.container, "warm"]);
      await warm.start();
      // A session that needs a start cannot have the cluster's slot now.
      for (const g of [a!, c!]) {
        const refused = await tryUpgrade(g.listenUrl, "sessionId=fresh-1");
        expect({ port: g.port, status: refused.status }).toEqual({ port: g.port, status: 503 });
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      }
      await Promise.all([...held, warm].map((s) => s.flowing(10)));

      await cluster.redis.restart();
      const backAt = performance.now();
      const fresh = await servedBy(backAt + BACK_WITHIN_MS, a!.listenUrl, "fresh-1");
      const servedMs = performance.now() - backAt;
      await fresh.start();
      const countProblems = await countsSettleProblems(
        cluster,
        { "gw-a": 2, "gw-b": 2, "gw-c": 1 },
        Math.max(500, BACK_WITHIN_MS - (performance.now() - backAt)),
      );
      const countsMs = performance.now() - backAt;
      expect(Object.values(await cluster.stats()).map((doc) => doc.store.available)).toEqual([true, true, true]);
      console.log(
        `[redis outage] after the empty restart: a start served in ${servedMs.toFixed(0)} ms, counts matched in ${countsMs.toFixed(0)} ms`,
      );

      const outcomes = await Promise.all([...held, warm, fresh].map((s) => s.finish()));
      expect(outcomes.filter((o) => o.code !== 1000 || o.echoed !== o.sent || o.outOfOrder)).toEqual([]);
      expect(outcomes.slice(0, 3).every((o) => o.sent > 20)).toBe(true); // they streamed right through the outage
      expect(countProblems).toEqual([]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
