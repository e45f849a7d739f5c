/**
 * Each instance's open sessions per gateway (what /stats shows as `connectionsByGateway`): through notices,
 * snapshots and departures in the view itself, and across three real Redis stores, a late joiner and a gateway
 * that leaves.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { RedisRoutingStore } from "./redis-store.ts";
import { connectStores } from "./test-stores.ts";
import { ClusterView, openField } from "./view.ts";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

test("the view's per-gateway loads follow notices, a snapshot replacing a share, and a gateway dropped", () => {
  const view = new ClusterView();
  view.set("gw-a", 1, "s1", "pool-0", 1, 10);
  view.set("gw-b", 1, "s2", "pool-0", 2, 11);
  view.set("gw-b", 2, "s3", "pool-1", 1, 12);
  expect(view.loadsByGateway("pool-0")).toEqual({ "gw-a": 1, "gw-b": 2 });
  // A snapshot of gw-b moves its s2 sessions away from pool-0 and keeps s3.
  view.replace(
    "gw-b",
    3,
    new Map([
      [openField("s3", "pool-1"), 1],
      [openField("s2", "pool-2"), 1],
    ]),
    () => 13,
  );
  expect([view.loadsByGateway("pool-0"), view.loadsByGateway("pool-2")]).toEqual([{ "gw-a": 1 }, { "gw-b": 1 }]);
  // A notice older than the snapshot changes nothing.
  view.set("gw-b", 2, "s2", "pool-0", 5, 14);
  expect(view.loadsByGateway("pool-0")).toEqual({ "gw-a": 1 });
  view.drop("gw-a", 15);
  expect([view.loadsByGateway("pool-0"), view.loadsByGateway("pool-1")]).toEqual([{}, { "gw-b": 1 }]);
  // Whatever the path, the per-gateway numbers add up to the instance's load.
  for (const id of ["pool-0", "pool-1", "pool-2"]) {
    const sum = Object.values(view.loadsByGateway(id)).reduce((a, b) => a + b, 0);
    expect(sum).toBe(view.load(id));
  }
});

redisTest("every gateway sees each instance's sessions by gateway; a late joiner reads them, a leaver takes its own", async () => {
  const { cluster, stores, close } = await connectStores(redis.url, 3);
  const late = new RedisRoutingStore({ url: redis.url, clusterName: cluster, gatewayId: "gw-late", heartbeatMs: 200 });
  try {
    const [a, b, c] = stores as [RedisRoutingStore, RedisRoutingStore, RedisRoutingStore];
    a.bind("s1", "auto-0", 1);
    b.bind("s2", "auto-0", 2);
    b.bind("s3", "auto-0", 3);
    c.bind("s4", "auto-1", 4);
    await Promise.all(stores.map((s) => s.settled()));
    const expected = { "gw-0": 1, "gw-1": 2 };
    for (const store of stores) {
      await pollUntil(() => store.totalLoad() === 4, `${store.gatewayId} to see all four sessions`, 2000);
      expect([store.loadsByGateway("auto-0"), store.loadsByGateway("auto-1")]).toEqual([expected, { "gw-2": 1 }]);
    }
    await late.connect();
    expect(late.loadsByGateway("auto-0")).toEqual(expected);
    await b.close();
    await pollUntil(() => late.load("auto-0") === 1, "gw-1's sessions to leave the late joiner's view", 3000);
    expect([late.loadsByGateway("auto-0"), a.loadsByGateway("auto-1")]).toEqual([{ "gw-0": 1 }, { "gw-2": 1 }]);
  } finally {
    await late.close();
    await close();
  }
});
