/**
 * The instance directory's scripts on a real redis-server: a claim is single and fenced (a lost claim can
 * neither complete nor release), a dead owner's claim is taken over, MAX_INSTANCES holds under concurrency, the
 * copies of other gateways follow by notice, and a copy behind Redis catches up at its next poll.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { RedisClient } from "bun";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { InstanceDirectory } from "./directory.ts";
import { directoryKeys } from "./directory-scripts.ts";
import { connectStores } from "./test-stores.ts";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

/** `n` gateways of one cluster: a routing store each (their presence is what makes an owner live) and a directory each. */
async function gateways(n: number) {
  const { cluster, stores, close } = await connectStores(redis.url, n);
  const directories = await Promise.all(
    stores.map(async (_, i) => {
      const directory = new InstanceDirectory({ url: redis.url, clusterName: cluster, gatewayId: `gw-${i}`, pollMs: 100 });
      await directory.connect();
      return directory;
    }),
  );
  return {
    cluster,
    stores,
    directories,
    close: async () => {
      await Promise.all(directories.map((d) => d.close()));
      await close();
    },
  };
}

function running(record: { instanceId: string; fence: string; owner: string; claimedAtMs: number }, port: number) {
  return { ...record, state: "running" as const, containerId: `c-${port}`, host: "127.0.0.1", port, machine: "m", startedAtMs: Date.now() };
}

redisTest("one claim wins; the others see it starting, then running, through their copies", async () => {
  const { directories, close } = await gateways(3);
  try {
    const answers = await Promise.all(directories.map((d) => d.claim("pool-0", 10, 30_000)));
    const claimed = answers.filter((a) => a.kind === "claimed");
    expect(claimed.length).toBe(1);
    const winner = claimed[0]!;
    if (winner.kind !== "claimed") throw new Error("unreachable");
    for (const answer of answers) if (answer.kind === "existing") expect(answer.record.fence).toBe(winner.record.fence);
    const owner = directories.find((d) => d.gatewayId === winner.record.owner)!;
    const done = await owner.complete(running(winner.record, 4000));
    expect(done?.state).toBe("running");
    for (const d of directories) await pollUntil(() => d.get("pool-0")?.state === "running", "every copy to see it running", 2000);
    expect(directories.map((d) => d.get("pool-0")?.port)).toEqual([4000, 4000, 4000]);
  } finally {
    await close();
  }
});

redisTest("fencing: a claim taken over from a dead owner can neither be completed nor released by it", async () => {
  const { stores, directories, close } = await gateways(2);
  try {
    const [a, b] = directories as [InstanceDirectory, InstanceDirectory];
    const first = await a.claim("session-1", 10, 30_000);
    if (first.kind !== "claimed") throw new Error(`expected a claim, got ${first.kind}`);
    // While its owner lives and the claim is fresh, a peer finds it and waits.
    expect((await b.claim("session-1", 10, 30_000)).kind).toBe("existing");
    // gw-0's presence goes (its store says bye): its claim is free to take over, with a new fence.
    await stores[0]!.close();
    const second = await b.claim("session-1", 10, 30_000);
    if (second.kind !== "claimed") throw new Error(`expected a takeover, got ${second.kind}`);
    expect(second.record.fence).not.toBe(first.record.fence);
    expect(await a.complete(running(first.record, 4100))).toBeUndefined();
    expect(await a.release("session-1", first.record.fence, "stopped", true)).toBe(false);
    expect(await b.complete(running(second.record, 4101))).toBeDefined();
    await pollUntil(() => a.get("session-1")?.port === 4101, "the old owner's copy to show the new container", 2000);
    expect(await b.release("session-1", second.record.fence, "stopped", true)).toBe(true);
    expect(b.get("session-1")).toBeUndefined();
  } finally {
    await close();
  }
});

redisTest("a stale starting claim is taken over even while its owner lives", async () => {
  const { directories, close } = await gateways(2);
  try {
    const [a, b] = directories as [InstanceDirectory, InstanceDirectory];
    expect((await a.claim("auto-3", 10, 30_000)).kind).toBe("claimed");
    await Bun.sleep(30);
    expect((await b.claim("auto-3", 10, 20)).kind).toBe("claimed");
  } finally {
    await close();
  }
});

redisTest("MAX_INSTANCES: 40 racing claims of 20 ids over 4 gateways with a cap of 6 claim exactly 6 ids", async () => {
  const { directories, close } = await gateways(4);
  try {
    // Each id is asked for by two different gateways (a gateway asking again takes its own claim over).
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => directories[Math.floor(i / 10) % 4]!.claim(`auto-${i % 20}`, 6, 30_000)),
    );
    const claimedIds = new Set(answers.flatMap((a) => (a.kind === "claimed" ? [a.record.instanceId] : [])));
    expect(claimedIds.size).toBe(6);
    expect(answers.filter((a) => a.kind === "claimed").length).toBe(6);
    expect(answers.filter((a) => a.kind === "refused").length).toBeGreaterThanOrEqual(40 - 12);
    for (const d of directories) await pollUntil(() => d.count() === 6, "every copy to count 6", 2000);
  } finally {
    await close();
  }
});

redisTest("an idle release is refused while a live gateway counts a session on the instance", async () => {
  const { stores, directories, close } = await gateways(2);
  try {
    const [a] = directories as [InstanceDirectory];
    const claim = await a.claim("pool-1", 10, 30_000);
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    stores[1]!.bind("s1", "pool-1", Date.now());
    await stores[1]!.settled();
    expect(await a.release("pool-1", claim.record.fence, "idle", true, "idle")).toBe(false);
    stores[1]!.unbind("s1", "pool-1", Date.now());
    await stores[1]!.settled();
    expect(await a.release("pool-1", claim.record.fence, "idle", true, "idle")).toBe(true);
  } finally {
    await close();
  }
});

redisTest("a change written with no notice reaches a copy at its next poll", async () => {
  const { cluster, directories, close } = await gateways(1);
  const raw = new RedisClient(redis.url);
  try {
    const keys = directoryKeys(cluster);
    const [d] = directories as [InstanceDirectory];
    const record = JSON.stringify({ i: "shared", s: "running", f: "x.1", o: "gw-9", a: 1, v: 99, c: "c1", h: "127.0.0.1", p: 5000 });
    await raw.send("HSET", [keys.dir, "shared", record]);
    await raw.send("SET", [keys.version, "99"]);
    await pollUntil(() => d.get("shared")?.port === 5000, "the poll to read the silent change", 2000);
  } finally {
    raw.close();
    await close();
  }
});

redisTest("Redis restarted empty: the directory notices the new epoch and takes a restored record back", async () => {
  const { directories, close } = await gateways(2);
  try {
    const [a, b] = directories as [InstanceDirectory, InstanceDirectory];
    const claim = await a.claim("pool-2", 10, 30_000);
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    const done = await a.complete(running(claim.record, 4200));
    let lost = 0;
    a.onLost(() => lost++);
    await redis.restart();
    await pollUntil(() => lost === 1 && a.available, "the directory to notice Redis lost its data", 5000);
    expect(a.get("pool-2")).toBeUndefined();
    const { version: _, ...rest } = done!;
    expect(await a.restore(rest)).toBeDefined();
    await pollUntil(() => b.get("pool-2")?.fence === claim.record.fence, "the peer to see the restored record", 5000);
  } finally {
    await close();
  }
});
