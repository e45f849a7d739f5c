/**
 * Redis goes away under two gateways' stores (the real redis-server SIGKILLed) and comes back empty: meanwhile
 * reads answer from the cached view, sessions still bind locally, cluster decisions fail with
 * StoreUnavailableError and `available` is false; once Redis is back every store re-registers within 5 s and
 * the rebuilt state holds every session, slot and assignment, including what happened during the outage.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { StoreUnavailableError } from "../routing/store.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { RedisRoutingStore } from "./redis-store.ts";
import { connectStores } from "./test-stores.ts";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

redisTest(
  "Redis killed: cached reads, local binds, typed refusals; restarted empty: rebuilt within 5 s with no drift",
  async () => {
    const { cluster, stores, close } = await connectStores(redis.url, 2);
    const [a, b] = stores as [RedisRoutingStore, RedisRoutingStore];
    try {
      a.bind("s1", "pool-0", 1);
      b.bind("s2", "pool-0", 2);
      b.bind("s3", "pool-1", 3);
      a.assign("s1", "spare-0");
      expect(await a.takeSlot("pool-0", 10)).toBe(true);
      expect(await b.takeSlot("pool-1", 10)).toBe(true);
      await Promise.all(stores.map((s) => s.settled()));
      await pollUntil(() => a.totalLoad() === 3 && b.totalLoad() === 3 && b.slotCount() === 2, "both views", 2000);

      await redis.kill();
      const killedAt = performance.now();
      await pollUntil(() => !a.available && !b.available, "both stores to notice", 3000, 20);
      console.log(`both stores unavailable ${Math.round(performance.now() - killedAt)} ms after the kill`);
      // Reads from the cached view; binds of sessions on running instances go on locally.
      expect([a.load("pool-0"), a.holder("s2"), a.dedicated("s1"), b.slotCount()]).toEqual([2, "pool-0", "spare-0", 2]);
      b.unbind("s3", "pool-1", 4);
      a.bind("s4", "pool-1", 5);
      // Neither hears of the other's change until Redis is back: gw-0 still counts gw-1's closed s3.
      expect([a.load("pool-1"), b.load("pool-1")]).toEqual([2, 0]);
      for (const refused of [a.takeSlot("pool-2", 10), a.bindWithin("s5", "pool-0", 10, 6), a.settled(), b.freeSlot("pool-1")]) {
        const error = await refused.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as StoreUnavailableError).retryAfterS).toBeGreaterThan(0);
      }

      await Bun.sleep(3000); // longer than the keys' TTL and than Bun's first reconnect attempts
      await redis.restart();
      const backAt = performance.now();
      await pollUntil(() => a.available && b.available, "both stores to re-register", 5000, 20);
      // What each learns from the other now comes from the rebuilt Redis (b never saw a's outage-time bind).
      await pollUntil(
        // Slots are written back by their holders, as the counts are, and may land a heartbeat later.
        () =>
          b.load("pool-1") === 1 &&
          b.holder("s4") === "pool-1" &&
          a.load("pool-1") === 1 &&
          a.holder("s3") === undefined &&
          // Each holder writes its own sessions back: pool-0's two (one per store) may land a heartbeat apart.
          stores.every((store) => store.slotCount() === 2 && store.load("pool-0") === 2 && store.totalLoad() === 3),
        "each store to learn the other's outage-time change and both slots",
        5000,
        20,
      );
      const rebuiltMs = performance.now() - backAt;
      console.log(`rebuilt ${Math.round(rebuiltMs)} ms after redis-server came back empty`);
      expect(rebuiltMs).toBeLessThan(5000);
      for (const store of stores) {
        expect([store.load("pool-0"), store.load("pool-1"), store.totalLoad(), store.dedicated("s1"), store.slotCount()]).toEqual([
          2,
          1,
          3,
          "spare-0",
          2,
        ]);
      }
      // A gateway joining after the rebuild reads the same state from Redis alone.
      const late = new RedisRoutingStore({ url: redis.url, clusterName: cluster, gatewayId: "gw-late" });
      await late.connect();
      expect([late.load("pool-0"), late.load("pool-1"), late.totalLoad(), late.dedicated("s1"), late.slotCount()]).toEqual([
        2,
        1,
        3,
        "spare-0",
        2,
      ]);
      await late.close();
      expect(await a.takeSlot("pool-2", 3)).toBe(true);
      expect(await b.takeSlot("pool-3", 3)).toBe(false);
    } finally {
      await close();
    }
  },
  30_000,
);
