import { describe, expect, test } from "bun:test";
import { Harness, strategyConformance } from "./conformance.ts";
import { PoolStrategy } from "./pool.ts";
import { conformanceConfig, routingConfig } from "./test-config.ts";

strategyConformance("pool", (view, store, clock) => new PoolStrategy(conformanceConfig(), view, store, clock), {
  requiresSessionId: false,
});
strategyConformance(
  "pool with POOL_PREWARM",
  (view, store, clock) => new PoolStrategy(conformanceConfig({ POOL_PREWARM: "true" }), view, store, clock),
  {
    requiresSessionId: false,
  },
);

const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function pool(env: Record<string, string> = {}): Harness {
  const config = routingConfig({ CONTAINER_POOL_SIZE: "20", MAX_INSTANCES: "100", ...env });
  return new Harness((view, store, clock) => new PoolStrategy(config, view, store, clock));
}

function placeAll(harness: Harness, sessionIds: readonly string[]): Map<string, string> {
  const placed = new Map<string, string>();
  for (const sessionId of sessionIds) {
    const decision = harness.strategy.route({ sessionId });
    if (!decision.ok) throw new Error(decision.message);
    placed.set(sessionId, decision.instanceId);
  }
  return placed;
}

function maxOverMean(instanceIds: Iterable<string>, members: number): number {
  const loads = new Map<string, number>();
  let total = 0;
  for (const id of instanceIds) {
    loads.set(id, (loads.get(id) ?? 0) + 1);
    total++;
  }
  return Math.max(...loads.values()) / (total / members);
}

describe("pool", () => {
  test("the same sessionId always reaches the same member, in any gateway", () => {
    const first = placeAll(pool(), ids.slice(0, 1000));
    const second = placeAll(pool(), ids.slice(0, 1000).reverse());
    expect([...first].every(([sessionId, member]) => second.get(sessionId) === member)).toBe(true);
  });

  test("10,000 ids spread over 20 members within 1.10 of the mean", () => {
    const ratio = maxOverMean(placeAll(pool(), ids).values(), 20);
    console.log(`[pool] pure hashing, 10,000 ids on 20 members: max/mean ${ratio.toFixed(3)}`);
    expect(ratio).toBeLessThanOrEqual(1.1);
  });

  for (const factor of ["1.05", "1.25"]) {
    test(`with POOL_BALANCE_FACTOR=${factor} no member exceeds factor x mean of open sessions`, () => {
      const harness = pool({ POOL_BALANCE_FACTOR: factor });
      const members = ids.map((sessionId) => (harness.admit(sessionId) as { instanceId: string }).instanceId);
      const ratio = maxOverMean(members, 20);
      console.log(`[pool] bounded load ${factor}: max/mean ${ratio.toFixed(3)}`);
      expect(ratio).toBeLessThanOrEqual(Number(factor));
    });
  }

  test("growing 20 -> 21 members moves at most 1.2/21 of the ids", () => {
    const before = placeAll(pool(), ids);
    const after = placeAll(pool({ CONTAINER_POOL_SIZE: "21" }), ids);
    const moved = ids.filter((id) => before.get(id) !== after.get(id)).length / ids.length;
    console.log(`[pool] 20 -> 21 moved ${(moved * 21).toFixed(3)}/21`);
    expect(moved).toBeLessThanOrEqual(1.2 / 21);
    // What moves, moves to the new member only.
    expect(ids.every((id) => before.get(id) === after.get(id) || after.get(id) === "pool-20")).toBe(true);
  });

  test("a failed member is skipped and its ids spread over the others; no other id moves", () => {
    const healthy = placeAll(pool(), ids);
    const harness = pool();
    harness.view.set("pool-3", "failed");
    const degraded = placeAll(harness, ids);
    const orphans = ids.filter((id) => healthy.get(id) === "pool-3");
    const newHomes = new Set(orphans.map((id) => degraded.get(id)));
    expect(newHomes.has("pool-3")).toBe(false);
    expect(newHomes.size).toBeGreaterThanOrEqual(15);
    expect(ids.every((id) => healthy.get(id) === "pool-3" || degraded.get(id) === healthy.get(id))).toBe(true);
  });

  test("a session without sessionId goes to the least-loaded member", () => {
    const harness = pool({ CONTAINER_POOL_SIZE: "3" });
    const open = (member: string, sessions: number) => {
      for (let i = 0; i < sessions; i++) harness.strategy.opened(`${member}-s${i}`, member);
    };
    open("pool-0", 4);
    open("pool-1", 1);
    open("pool-2", 2);
    expect(harness.strategy.route({})).toEqual({ ok: true, instanceId: "pool-1" });
  });

  test("sessions without sessionId fill the pool evenly, counting routed sessions before their members start", () => {
    const harness = pool({ CONTAINER_POOL_SIZE: "4" });
    const members = Array.from({ length: 8 }, () => {
      const decision = harness.strategy.route({});
      if (!decision.ok) throw new Error(decision.message);
      harness.strategy.opened(crypto.randomUUID(), decision.instanceId); // no lease yet: still starting
      return decision.instanceId;
    });
    expect(members.sort()).toEqual(["pool-0", "pool-0", "pool-1", "pool-1", "pool-2", "pool-2", "pool-3", "pool-3"]);
  });

  test("POOL_PREWARM asks for every member at boot; otherwise none", () => {
    expect(pool({ CONTAINER_POOL_SIZE: "3", POOL_PREWARM: "true" }).strategy.prewarmIds()).toEqual(["pool-0", "pool-1", "pool-2"]);
    expect(pool({ CONTAINER_POOL_SIZE: "3" }).strategy.prewarmIds()).toEqual([]);
  });

  test("hash lookups with 10,000 live sessions take microseconds (p99 printed)", () => {
    for (const factor of ["off", "1.25"]) {
      const harness = pool({ POOL_BALANCE_FACTOR: factor });
      for (const sessionId of ids) harness.admit(sessionId);
      const samplesUs = ids.map((_, i) => {
        const started = performance.now();
        harness.strategy.route({ sessionId: `new-${i}` });
        return (performance.now() - started) * 1000;
      });
      samplesUs.sort((a, b) => a - b);
      console.log(`[pool] factor ${factor}, 10,000 live sessions: lookup p99 ${samplesUs[9_899]!.toFixed(2)} us`);
    }
  });
});
