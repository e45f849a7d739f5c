/**
 * Three gateways of one cluster in this process (each its own Redis store, directory and registry) over one
 * FakeDriver standing for one engine, on a real redis-server: single-flight starts across gateways, warm joins,
 * the leader's death, adoption, the orphan sweep, a gateway's shutdown and the cluster's sleep. The same cluster
 * over the real Podman driver: cluster-podman.test.ts.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { LABEL_FENCE, LABEL_REPLICA } from "../../runtime/driver.ts";
import { FakeDriver } from "../../runtime/fake-driver.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { upkeepPass } from "../lifecycle/upkeep.ts";
import { containerRefusal } from "../session/container-refusal.ts";
import { startClusterGateways } from "./test-gateways.ts";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

const SESSION_MODE = { ROUTING_MODE: "session" };

redisTest("30 racing acquires of one cold instance over 3 gateways make exactly one container", async () => {
  const driver = new FakeDriver({ startDelayMs: 50 });
  const cluster = await startClusterGateways(redis.url, 3, { driver, env: SESSION_MODE });
  try {
    const leases = await Promise.all(
      Array.from({ length: 30 }, (_, i) => cluster.gateways[i % 3]!.gateway.state.registry.get("session-0123456789abcdef").acquire()),
    );
    expect(driver.starts.length).toBe(1);
    expect(new Set(leases.map((lease) => lease.containerId)).size).toBe(1);
    expect(driver.starts[0]!.labels?.[LABEL_FENCE]).toBe(cluster.gateways[0]!.member.directory.get("session-0123456789abcdef")!.fence);
    for (const lease of leases) lease.release();
  } finally {
    await cluster.stop();
  }
});

redisTest("a reconnect through another gateway lands on the same warm container", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 2, { driver, env: SESSION_MODE });
  try {
    const [a, b] = cluster.gateways.map((g) => g.gateway.state) as [any, any];
    const first = a.selector.route({ sessionId: "user-1" });
    const lease = await a.registry.get(first.instanceId).acquire();
    expect(lease.start).toBe("cold");
    lease.release();
    const again = b.selector.route({ sessionId: "user-1" });
    expect(again).toEqual(first);
    const warm = await b.registry.get(again.instanceId).acquire();
    expect([warm.containerId, warm.start, driver.starts.length]).toEqual([lease.containerId, "warm", 1]);
    expect(b.registry.get(again.instanceId).coldStarts).toBe(0);
    warm.release();
  } finally {
    await cluster.stop();
  }
});

redisTest("the leader dies: another gateway leads within 3 s and adopts its containers", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 3, { driver, env: SESSION_MODE });
  try {
    const leader = cluster.leader()!;
    expect(leader).toBeDefined();
    const others = cluster.gateways.filter((g) => g !== leader);
    const own = await leader.gateway.state.registry.get("session-aaaaaaaaaaaaaaaa").acquire();
    const joined = await others[0]!.gateway.state.registry.get("session-aaaaaaaaaaaaaaaa").acquire();
    expect(joined.containerId).toBe(own.containerId);
    await leader.kill();
    const diedAtMs = Date.now();
    await pollUntil(() => cluster.leader() !== undefined, "another gateway to take the lease", 5000, 20);
    console.log(`another gateway led the upkeep ${Date.now() - diedAtMs} ms after the leader died`);
    expect(Date.now() - diedAtMs).toBeLessThan(3000);
    const next = cluster.leader()!;
    await pollUntil(async () => !(await next.member.liveGateways()).has(leader.id), "the dead gateway's presence to expire", 5000, 50);
    await upkeepPass(next.gateway.state);
    expect(next.member.directory.get("session-aaaaaaaaaaaaaaaa")?.owner).toBe(next.id);
    // The adopter watches it now: a crash releases the record and the peer's sessions learn of it.
    let crashed = false;
    joined.onCrash(() => (crashed = true));
    driver.crash(own.containerId);
    await pollUntil(
      () => crashed && next.member.directory.get("session-aaaaaaaaaaaaaaaa") === undefined,
      "the crash to reach the peer",
      3000,
    );
    expect(others[0]!.gateway.state.registry.state("session-aaaaaaaaaaaaaaaa")).toBe("failed");
  } finally {
    await cluster.stop();
  }
});

redisTest("the orphan sweep removes a dead gateway's half-made container and one no record claims, nothing else", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 3, { driver, env: SESSION_MODE });
  try {
    const leader = cluster.leader()!;
    const victim = cluster.gateways.find((g) => g !== leader)!;
    const serving = await leader.gateway.state.registry.get("session-bbbbbbbbbbbbbbbb").acquire();
    // The victim claimed a start and made its container, then died before completing it.
    const claim = await victim.member.directory.claim("session-cccccccccccccccc", 20, 30_000);
    if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
    const halfMade = await driver.start({
      instanceId: "session-cccccccccccccccc",
      env: {},
      labels: { [LABEL_FENCE]: claim.record.fence, [LABEL_REPLICA]: victim.id },
    });
    const stray = await driver.start({ instanceId: "session-dddddddddddddddd", env: {}, labels: { [LABEL_FENCE]: "gone.1" } });
    await victim.kill();
    await pollUntil(async () => !(await leader.member.liveGateways()).has(victim.id), "the victim's presence to expire", 5000, 50);
    await upkeepPass(leader.gateway.state);
    expect(driver.running.has(halfMade.id)).toBe(false);
    expect(driver.running.has(stray.id)).toBe(false);
    expect(driver.running.has(serving.containerId)).toBe(true);
    expect(leader.member.directory.get("session-cccccccccccccccc")).toBeUndefined();
    // The next claimer starts it afresh.
    const fresh = await leader.gateway.state.registry.get("session-cccccccccccccccc").acquire();
    expect(fresh.start).toBe("cold");
    serving.release();
    fresh.release();
  } finally {
    await cluster.stop();
  }
});

redisTest("a gateway's shutdown leaves the containers its peers use; the last one stops everything", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 2, { driver, env: SESSION_MODE });
  const [a, b] = cluster.gateways as [any, any];
  try {
    const made = await a.gateway.state.registry.get("session-eeeeeeeeeeeeeeee").acquire();
    made.release();
    const joined = await b.gateway.state.registry.get("session-eeeeeeeeeeeeeeee").acquire();
    let crashed = false;
    joined.onCrash(() => (crashed = true));
    await a.gateway.shutdown();
    a.killed = true;
    expect([driver.stops.length, driver.running.has(made.containerId), crashed]).toEqual([0, true, false]);
    await pollUntil(() => b.member.leading, "the peer to take the lease", 4000);
    await upkeepPass(b.gateway.state);
    expect(b.member.directory.get("session-eeeeeeeeeeeeeeee")?.owner).toBe(b.id);
    joined.release();
    await b.gateway.shutdown();
    b.killed = true;
    expect(driver.running.size).toBe(0);
  } finally {
    await cluster.stop();
  }
});

redisTest("the cluster's sleep: never while a peer has a session on it; then it sleeps on every gateway, not failed", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 2, { driver, env: { ROUTING_MODE: "shared", SLEEP_AFTER: "10m" } });
  try {
    const leader = cluster.leader()!;
    const peer = cluster.gateways.find((g) => g !== leader)!;
    const lease = await peer.gateway.state.registry.get("shared").acquire();
    (await leader.gateway.state.registry.get("shared").acquire()).release();
    peer.gateway.state.selector.opened("s1", "shared");
    await peer.store.settled();
    await pollUntil(() => leader.store.load("shared") === 1, "the leader to count the peer's session", 2000);
    const later = Date.now() + 11 * 60_000;
    await upkeepPass(leader.gateway.state, later);
    expect(driver.stops.length).toBe(0);
    peer.gateway.state.selector.closed("s1", "shared");
    lease.release();
    await peer.store.settled();
    await pollUntil(() => leader.store.load("shared") === 0, "the close to reach the leader", 2000);
    await upkeepPass(leader.gateway.state, later);
    expect(new Set(driver.stops).size).toBe(1);
    for (const g of cluster.gateways) {
      await pollUntil(() => g.gateway.state.registry.state("shared") === "sleeping", `${g.id} to see it sleep`, 2000);
    }
    const woken = await peer.gateway.state.registry.get("shared").acquire();
    expect([woken.start, driver.starts.length]).toEqual(["wake", 2]);
    woken.release();
  } finally {
    await cluster.stop();
  }
});

redisTest("Redis away: a running instance is still served, a start is refused 503; back empty, starts again within 5 s", async () => {
  const own = await startRedis();
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(own.url, 2, { driver, env: SESSION_MODE });
  try {
    const [a, b] = cluster.gateways as [any, any];
    const made = await a.gateway.state.registry.get("session-ffffffffffffffff").acquire();
    await pollUntil(() => b.member.directory.get("session-ffffffffffffffff")?.state === "running", "the peer's copy", 2000);
    await own.kill();
    await pollUntil(() => !b.member.directory.available, "the peer to notice Redis is away", 3000);
    const registry = b.gateway.state.registry;
    expect(containerRefusal(registry, undefined, "session-ffffffffffffffff")).toBeUndefined();
    expect(containerRefusal(registry, undefined, "session-1111111111111111")?.reason).toBe("store_unavailable");
    const served = await registry.get("session-ffffffffffffffff").acquire();
    expect(served.containerId).toBe(made.containerId);
    await own.restart();
    const backAtMs = Date.now();
    await pollUntil(
      async () =>
        await registry
          .get("session-2222222222222222")
          .acquire()
          .then(
            (l: any) => (l.release(), true),
            () => false,
          ),
      "a start to be served again",
      5000,
      100,
    );
    console.log(`starts were served again ${Date.now() - backAtMs} ms after Redis came back empty`);
    expect(Date.now() - backAtMs).toBeLessThan(5000);
    // The gateway that made it wrote its record back, under the same fence.
    await pollUntil(
      () => b.member.directory.get("session-ffffffffffffffff")?.containerId === made.containerId,
      "the record written back",
      3000,
    );
    served.release();
    made.release();
  } finally {
    await cluster.stop();
    await own.stop();
  }
});

redisTest("Redis restarted empty after a gateway died: the leader writes its container's record back from the labels", async () => {
  const own = await startRedis();
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(own.url, 3, { driver, env: SESSION_MODE });
  try {
    const leader = cluster.leader()!;
    const [dead, alive] = cluster.gateways.filter((g) => g !== leader) as [any, any];
    const orphaned = await dead.gateway.state.registry.get("session-3333333333333333").acquire();
    const kept = await alive.gateway.state.registry.get("session-4444444444444444").acquire();
    const fences = [
      leader.member.directory.get("session-3333333333333333")!.fence,
      leader.member.directory.get("session-4444444444444444")!.fence,
    ];
    await dead.kill();
    await own.restart();
    // The lease went with Redis's data: whichever live gateway holds it again restores at its next pass.
    const live = [leader, alive];
    await pollUntil(
      () => live.every((g) => g.member.directory.lostAtMs !== undefined && g.member.directory.available),
      "the loss seen",
      5000,
    );
    const next = await pollUntil(
      async () => {
        for (const g of live) await upkeepPass(g.gateway.state);
        const holder = live.find((g) => g.member.directory.get("session-3333333333333333") !== undefined);
        return holder && live.find((g) => g.id === holder.member.directory.get("session-3333333333333333")!.owner);
      },
      "the leader to write the dead gateway's record back",
      5000,
      100,
    );
    const restored = next.member.directory.get("session-3333333333333333");
    expect([restored?.fence, restored?.containerId]).toEqual([fences[0], orphaned.containerId]);
    expect(next.member.directory.get("session-4444444444444444")?.fence).toBe(fences[1]);
    expect([driver.running.has(orphaned.containerId), driver.running.has(kept.containerId), driver.stops.length]).toEqual([true, true, 0]);
    kept.release();
  } finally {
    await cluster.stop();
    await own.stop();
  }
});

redisTest("every gateway stopped at once: each waits for the others' drain, then the containers are stopped, none left", async () => {
  const driver = new FakeDriver();
  const cluster = await startClusterGateways(redis.url, 3, { driver, env: SESSION_MODE });
  try {
    for (const [i, g] of cluster.gateways.entries())
      (await g.gateway.state.registry.get(`session-555555555555555${i}`).acquire()).release();
    expect(driver.running.size).toBe(3);
    await Promise.all(cluster.gateways.map((g) => g.gateway.shutdown()));
    for (const g of cluster.gateways) g.killed = true;
    expect(driver.running.size).toBe(0);
  } finally {
    await cluster.stop();
  }
});
