/**
 * Autoscale's bucketed pick against the scan it replaced (autoscale-scan.fixture.ts): the same decisions over
 * seeded random traffic, and decision p99 of both with 10,000 live sessions (printed, as bench/sections/micro.ts
 * measures it).
 */
import { describe, expect, test } from "bun:test";
import { summarize } from "../../bench/stats.ts";
import { AutoscaleStrategy } from "./autoscale.ts";
import { scanPicks } from "./autoscale-scan.fixture.ts";
import { seededRandom } from "./conformance.ts";
import { FakeInstanceView } from "./fake-view.ts";
import { MemoryRoutingStore } from "./store.ts";
import type { InstanceStateName as InstanceState } from "../../runtime/instance-state.ts";
import type { RoutingStrategy } from "./strategy.ts";
import { routingConfig } from "./test-config.ts";

type Env = Record<string, string>;
const STATES: InstanceState[] = ["idle", "starting", "running", "stopping", "sleeping", "failed"];

/** Both strategies over one view and clock, each with its own store fed the same hooks. */
function pair(env: Env, view: FakeInstanceView, stores: [MemoryRoutingStore, MemoryRoutingStore], clock: () => number) {
  const config = routingConfig({ ROUTING_MODE: "autoscale", ...env });
  return [new AutoscaleStrategy(config, view, stores[0], clock, scanPicks), new AutoscaleStrategy(config, view, stores[1], clock)] as const;
}

function randomRun(env: Env, seed: number, steps: number): number {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const view = new FakeInstanceView();
  const stores: [MemoryRoutingStore, MemoryRoutingStore] = [new MemoryRoutingStore(), new MemoryRoutingStore()];
  let nowMs = 1_700_000_000_000;
  let [scan, buckets] = pair(env, view, stores, () => nowMs);
  const both = (f: (s: RoutingStrategy) => void) => [scan, buckets].forEach(f);
  const open: { sessionId: string; instanceId: string }[] = [];
  const lateDisconnects: string[] = [];
  let next = 0;
  let decisions = 0;

  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.45) {
      // A new session, or now and then a reconnect of an open one (admitted again: the id is open twice).
      const sessionId = open.length > 0 && random() < 0.1 ? pick(open).sessionId : `s-${next++}`;
      const expected = scan.route({ sessionId });
      expect(buckets.route({ sessionId })).toEqual(expected);
      decisions++;
      if (expected.ok) {
        both((s) => s.opened(sessionId, expected.instanceId));
        if (random() < 0.9) view.connect(expected.instanceId); // else the lease never comes
        open.push({ sessionId, instanceId: expected.instanceId });
      }
    } else if (r < 0.8 && open.length > 0) {
      const [session] = open.splice(Math.floor(random() * open.length), 1);
      both((s) => s.closed(session!.sessionId, session!.instanceId));
      // The lease sometimes outlives the hook a while: connections above the store's count.
      if (random() < 0.3) lateDisconnects.push(session!.instanceId);
      else view.disconnect(session!.instanceId);
    } else if (r < 0.85) {
      for (const id of lateDisconnects.splice(0)) view.disconnect(id);
    } else if (r < 0.9) {
      const id = random() < 0.8 ? `auto-${Math.floor(random() * 25)}` : `spare-${Math.floor(random() * 4)}`;
      view.set(id, pick(STATES));
    } else if (r < 0.95) {
      nowMs += Math.floor(random() * 90_000);
      const stop = scan.reap(nowMs);
      expect(buckets.reap(nowMs)).toEqual(stop);
      for (const id of stop) view.set(id, random() < 0.5 ? "stopping" : "sleeping");
      const spares = scan.sparesToStart();
      expect(buckets.sparesToStart()).toEqual(spares);
      for (const id of spares) view.set(id, random() < 0.7 ? "running" : "starting");
    } else if (r < 0.96) {
      [scan, buckets] = pair(env, view, stores, () => nowMs); // a config reload rebuilds over the stores
    } else {
      const sessionId = `s-${next}`;
      expect(buckets.route({ sessionId })).toEqual(scan.route({ sessionId }));
      decisions++;
    }
    expect(buckets.coordinatorView()).toEqual(scan.coordinatorView());
  }
  return decisions;
}

describe("autoscale with load buckets", () => {
  const envs: Env[] = [
    { MAX_CONNECTIONS_PER_CONTAINER: "3", MIN_CONTAINERS: "2", MAX_INSTANCES: "20", SCALE_DOWN_AFTER: "1m" },
    { MAX_CONNECTIONS_PER_CONTAINER: "2", MIN_CONTAINERS: "1", MAX_INSTANCES: "25", WARM_SPARES: "2", SCALE_DOWN_AFTER: "30s" },
    { MAX_CONNECTIONS_PER_CONTAINER: "1", MIN_CONTAINERS: "0", MAX_INSTANCES: "12", WARM_SPARES: "1", SCALE_DOWN_AFTER: "30s" },
  ];
  for (const [i, env] of envs.entries()) {
    test(`decides as the full scan did over seeded random traffic (config ${i})`, () => {
      for (const seed of [1, 2, 3, 4]) expect(randomRun(env, seed * 100 + i, 3_000)).toBeGreaterThan(1_000);
    });
  }

  test("a rebuild over a store with sessions files them: the least-loaded one gets the next session", () => {
    const view = new FakeInstanceView();
    const store = new MemoryRoutingStore();
    const env = { MAX_CONNECTIONS_PER_CONTAINER: "3", MIN_CONTAINERS: "1" };
    const [, first] = pair(env, view, [new MemoryRoutingStore(), store], () => 0);
    for (const [sessionId, id] of [
      ["a", "auto-0"],
      ["b", "auto-0"],
      ["c", "auto-2"],
      ["d", "spare-4"],
    ]) {
      first.opened(sessionId!, id!);
      view.connect(id!);
    }
    const [, rebuilt] = pair(env, view, [new MemoryRoutingStore(), store], () => 0);
    expect(rebuilt.route({ sessionId: "e" })).toEqual({ ok: true, instanceId: "auto-2" });
    rebuilt.opened("e", "auto-2");
    rebuilt.opened("f", "auto-2");
    expect(rebuilt.route({ sessionId: "g" })).toEqual({ ok: true, instanceId: "spare-4" });
  });

  test("decision p99 with 10,000 sessions over 1,000 instances, scan vs buckets (printed)", () => {
    // As bench/sections/micro.ts: admit 10,000 sessions, then time route() for new ids and 1-in-10 reconnects.
    const env = { ROUTING_MODE: "autoscale", MAX_INSTANCES: "10000", MAX_CONNECTIONS_PER_CONTAINER: "10" };
    const p99 = (make: (view: FakeInstanceView) => RoutingStrategy) => {
      const view = new FakeInstanceView();
      const strategy = make(view);
      for (let i = 0; i < 10_000; i++) {
        const decision = strategy.route({ sessionId: `live-${i}` });
        if (!decision.ok) throw new Error(decision.message);
        strategy.opened(`live-${i}`, decision.instanceId);
        view.connect(decision.instanceId);
      }
      const decisions = 20_000;
      const samplesUs = new Float64Array(decisions);
      for (let i = 0; i < decisions; i++) {
        const sessionId = i % 10 === 0 ? `live-${i % 10_000}` : `new-${i}`;
        const started = performance.now();
        strategy.route({ sessionId });
        samplesUs[i] = (performance.now() - started) * 1000;
      }
      return summarize(samplesUs.subarray(decisions / 10));
    };
    const stores = (): [MemoryRoutingStore, MemoryRoutingStore] => [new MemoryRoutingStore(), new MemoryRoutingStore()];
    const rounds: string[] = [];
    for (let round = 0; round < 2; round++) {
      const before = p99((view) => pair(env, view, stores(), () => 1_700_000_000_000)[0]);
      const after = p99((view) => pair(env, view, stores(), () => 1_700_000_000_000)[1]);
      rounds.push(`scan p50 ${before.p50} p99 ${before.p99} us | buckets p50 ${after.p50} p99 ${after.p99} us`);
    }
    for (const line of rounds) console.log(`[autoscale] route() with 10,000 sessions on 1,000 instances: ${line}`);
  });
});
