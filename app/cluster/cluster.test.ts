/**
 * Several Redis routing stores on one real redis-server behave as one gateway's store: each sees the others'
 * sessions, cluster-wide decisions are atomic, a joining gateway reads the state from Redis itself, and a
 * gateway that stops (or is SIGKILLed) takes its counts with it.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { RedisClient } from "bun";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { RedisRoutingStore } from "./redis-store.ts";
import { connectStores } from "./test-stores.ts";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

redisTest("a session bound through one gateway is seen through every other: load, holder, total, own instance", async () => {
  const { stores, close } = await connectStores(redis.url, 3);
  try {
    const [a, b, c] = stores as [RedisRoutingStore, RedisRoutingStore, RedisRoutingStore];
    a.bind("s1", "pool-0", 10);
    b.bind("s2", "pool-0", 11);
    c.bind("s3", "pool-1", 12);
    a.assign("s9", "spare-0");
    await Promise.all(stores.map((s) => s.settled()));
    for (const store of stores) {
      await pollUntil(() => store.totalLoad() === 3 && store.dedicated("s9") === "spare-0", "every view to converge", 2000);
      expect([store.load("pool-0"), store.load("pool-1"), store.holder("s2"), store.holder("s3")]).toEqual([2, 1, "pool-0", "pool-1"]);
      expect(store.lastChangeAtMs("pool-0")).toBe(11);
    }
    // A close is only its own gateway's to make.
    expect(b.unbind("s1", "pool-0", 13)).toBe(false);
    expect(a.unbind("s1", "pool-0", 13)).toBe(true);
    await pollUntil(() => c.load("pool-0") === 1, "the close to reach gw-2", 2000);
    expect(
      c
        .gateways()
        .map((g) => [g.id, g.sessions])
        .sort(),
    ).toEqual([
      ["gw-0", 0],
      ["gw-1", 1],
      ["gw-2", 1],
    ]);
  } finally {
    await close();
  }
});

redisTest("20 racing takeSlot calls over 4 gateways for MAX_INSTANCES=5 take exactly 5 slots", async () => {
  const { stores, close } = await connectStores(redis.url, 4);
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 4]!.takeSlot(`auto-${i}`, 5)));
    expect(answers.filter(Boolean).length).toBe(5);
    for (const store of stores) await pollUntil(() => store.slotCount() === 5, "slot counts to converge", 2000);
  } finally {
    await close();
  }
});

redisTest("racing bindWithin over 3 gateways never puts more than the cap on an instance", async () => {
  const { stores, close } = await connectStores(redis.url, 3);
  try {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.bindWithin(`s${i}`, "auto-0", 7, i)));
    expect(answers.filter(Boolean).length).toBe(7);
    for (const store of stores) await pollUntil(() => store.load("auto-0") === 7, "loads to converge on the cap", 2000);
  } finally {
    await close();
  }
});

redisTest("a gateway joining later reads the cluster's state from Redis, not from notices it never saw", async () => {
  const { cluster, stores, close } = await connectStores(redis.url, 2);
  const late = new RedisRoutingStore({ url: redis.url, clusterName: cluster, gatewayId: "gw-late", heartbeatMs: 200 });
  try {
    stores[0]!.bind("s1", "session-aa", 5);
    stores[1]!.bind("s2", "session-bb", 6);
    stores[1]!.assign("s2", "spare-3");
    await stores[0]!.takeSlot("session-aa", 10);
    await Promise.all(stores.map((s) => s.settled()));
    await late.connect();
    expect([
      late.load("session-aa"),
      late.load("session-bb"),
      late.dedicated("s2"),
      late.slotCount(),
      late.lastChangeAtMs("session-bb"),
    ]).toEqual([1, 1, "spare-3", 1, 6]);
    expect(
      late
        .gateways()
        .map((g) => g.id)
        .sort(),
    ).toEqual(["gw-0", "gw-1", "gw-late"]);
  } finally {
    await late.close();
    await close();
  }
});

redisTest("a gateway that closes leaves at once; one SIGKILLed loses its counts within 3 s", async () => {
  const { cluster, stores, close } = await connectStores(redis.url, 2);
  try {
    const [watcher, leaving] = stores as [RedisRoutingStore, RedisRoutingStore];
    leaving.bind("s1", "pool-0", 1);
    await leaving.settled();
    await pollUntil(() => watcher.load("pool-0") === 1, "the bind to reach the watcher", 2000);
    await leaving.close();
    await pollUntil(() => watcher.load("pool-0") === 0 && watcher.gateways().length === 1, "the closed gateway to leave", 1000);

    // A real process holding sessions, SIGKILLed: no goodbye, only its keys' TTL and the others' heartbeats.
    const child = Bun.spawn([process.execPath, `${import.meta.dir}/store-process.fixture.ts`, redis.url, cluster, "gw-doomed", "3"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("bound");
    await pollUntil(() => watcher.load("pool-1") === 3, "the child's sessions to show", 3000);
    child.kill("SIGKILL");
    await child.exited;
    const killedAt = performance.now();
    await pollUntil(
      () => watcher.load("pool-1") === 0 && !watcher.gateways().some((g) => g.id === "gw-doomed"),
      "the dead gateway's counts to vanish",
      3000,
      20,
    );
    const goneMs = performance.now() - killedAt;
    console.log(`a SIGKILLed gateway's 3 sessions left the counts ${Math.round(goneMs)} ms after the kill`);
    expect(goneMs).toBeLessThan(3000);
  } finally {
    await close();
  }
});

redisTest("a change whose notice never came is caught by the next heartbeat: Redis, not pub/sub, is the truth", async () => {
  const { cluster, stores, close } = await connectStores(redis.url, 1);
  const [store] = stores as [RedisRoutingStore];
  const direct = new RedisClient(redis.url);
  try {
    // A peer's share and presence written straight into Redis, with no notice published.
    const prefix = `te:${cluster}:`;
    await direct.send("SET", [`${prefix}gw:gw-silent`, JSON.stringify({ a: "127.0.0.1:1", t: Date.now() }), "PX", "60000"]);
    await direct.send("HSET", [`${prefix}gw:gw-silent:open`, "quiet\npool-3", "2", "_v", "5"]);
    await direct.send("SADD", [`${prefix}gateways`, "gw-silent"]);
    await direct.send("HSET", [`${prefix}own`, "quiet", "spare-9"]);
    await direct.send("INCR", [`${prefix}cv`]);
    const startedAt = performance.now();
    await pollUntil(
      () => store.load("pool-3") === 2 && store.dedicated("quiet") === "spare-9",
      "the heartbeat to read the silent change",
      2000,
      10,
    );
    console.log(`a change with no notice reached the view ${Math.round(performance.now() - startedAt)} ms later (heartbeat 200 ms)`);
    expect(store.gateways().find((g) => g.id === "gw-silent")).toMatchObject({ sessions: 2, address: "127.0.0.1:1" });
  } finally {
    direct.close();
    await close();
  }
});
