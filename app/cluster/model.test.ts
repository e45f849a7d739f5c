/**
 * A seeded model test (fast-check): random batches of operations issued concurrently through three Redis
 * routing stores (three gateways) on a real redis-server, checked against memory stores as the model (one per
 * gateway, summed). After each batch every view, and a gateway joining fresh (Redis's own truth), must agree
 * with the model and with each other; racing slots and capped binds must stay within their limits.
 * MODEL_SEED replays a run; MODEL_RUNS sets how many.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import fc from "fast-check";
import { MemoryRoutingStore } from "../routing/store.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { RedisRoutingStore } from "./redis-store.ts";
import { connectStores } from "./test-stores.ts";

const GATEWAYS = 3;
const SESSIONS = ["s0", "s1", "s2", "s3", "s4"];
const INSTANCES = ["pool-0", "pool-1", "session-x"];
/** Only bindWithin binds here, so its cap is an invariant of the final state. */
const CAPPED = "auto-0";
const CAP = 3;
const MAX_SLOTS = 2;
const SLOT_IDS = ["auto-0", "auto-1", "auto-2", "auto-3"];

type Op =
  | { op: "bind" | "unbind" | "assign"; g: number; s: string; i: string }
  | { op: "release" | "bindWithin" | "unbindCapped"; g: number; s: string }
  | { op: "takeSlot" | "freeSlot"; g: number; i: string };

const gateway = fc.nat({ max: GATEWAYS - 1 });
const session = fc.constantFrom(...SESSIONS);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom("bind" as const, "unbind" as const, "assign" as const),
    g: gateway,
    s: session,
    i: fc.constantFrom(...INSTANCES),
  }),
  fc.record({ op: fc.constantFrom("release" as const, "bindWithin" as const, "unbindCapped" as const), g: gateway, s: session }),
  fc.record({ op: fc.constantFrom("takeSlot" as const, "freeSlot" as const), g: gateway, i: fc.constantFrom(...SLOT_IDS) }),
);

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

/** What every view must say, from the model; `dedicated` per session is one of the values written. */
function expectedView(models: Model[]) {
  const load = (id: string) => models.reduce((sum, m) => sum + m.load(id), 0);
  return {
    loads: Object.fromEntries([...INSTANCES, CAPPED].map((id) => [id, load(id)])),
    total: models.reduce((sum, m) => sum + m.totalLoad(), 0),
    holders: Object.fromEntries(
      SESSIONS.map((s) => [s, models.flatMap((m) => [...INSTANCES, CAPPED].filter((id) => m.countOf(s, id) > 0))]),
    ),
  };
}

/** A model store that also answers how many sessions `s` it holds on `id` (holder() names only the latest). */
class Model extends MemoryRoutingStore {
  private readonly counts = new Map<string, number>();
  countOf(s: string, id: string): number {
    return this.counts.get(`${s}\n${id}`) ?? 0;
  }
  override bind(s: string, id: string, nowMs: number): void {
    super.bind(s, id, nowMs);
    this.counts.set(`${s}\n${id}`, this.countOf(s, id) + 1);
  }
  override unbind(s: string, id: string, nowMs: number): boolean {
    const closed = super.unbind(s, id, nowMs);
    if (closed) this.counts.set(`${s}\n${id}`, this.countOf(s, id) - 1);
    return closed;
  }
}

function viewOf(store: RedisRoutingStore) {
  return {
    loads: Object.fromEntries([...INSTANCES, CAPPED].map((id) => [id, store.load(id)])),
    total: store.totalLoad(),
    dedicated: Object.fromEntries(SESSIONS.map((s) => [s, store.dedicated(s) ?? null])),
    slots: store.slotCount(),
  };
}

redisTest(
  "three gateways' concurrent operations agree with the memory-store model and with Redis",
  async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }), async (batches) => {
        runs++;
        const { cluster, stores, close } = await connectStores(redis.url, GATEWAYS);
        const models = stores.map(() => new Model());
        let nowMs = 0;
        try {
          for (const batch of batches) {
            const waits: Promise<void>[] = [];
            let cappedRefused = false;
            let cappedCloses = 0;
            let slotRefused = false;
            let slotFrees = 0;
            for (const step of batch) {
              const store = stores[step.g]!;
              const model = models[step.g]!;
              nowMs++;
              switch (step.op) {
                case "bind":
                  store.bind(step.s, step.i, nowMs);
                  model.bind(step.s, step.i, nowMs);
                  break;
                case "unbind":
                  expect(store.unbind(step.s, step.i, nowMs)).toBe(model.unbind(step.s, step.i, nowMs));
                  break;
                case "unbindCapped": {
                  const closed = store.unbind(step.s, CAPPED, nowMs);
                  expect(closed).toBe(model.unbind(step.s, CAPPED, nowMs));
                  if (closed) cappedCloses++;
                  break;
                }
                case "assign":
                  store.assign(step.s, step.i);
                  break;
                case "release":
                  store.release(step.s);
                  break;
                case "bindWithin": {
                  // Counted from the call, as the memory store does, until a refusal undoes it (unless closed first).
                  const at = nowMs;
                  model.bind(step.s, CAPPED, at);
                  waits.push(
                    store.bindWithin(step.s, CAPPED, CAP, at).then((bound) => {
                      if (bound) return;
                      cappedRefused = true;
                      if (model.countOf(step.s, CAPPED) > 0) model.unbind(step.s, CAPPED, at);
                    }),
                  );
                  break;
                }
                case "takeSlot":
                  waits.push(store.takeSlot(step.i, MAX_SLOTS).then((taken) => void (slotRefused ||= !taken)));
                  break;
                case "freeSlot":
                  slotFrees++; // at most one slot each; whether it held one depends on how the race went
                  waits.push(store.freeSlot(step.i));
                  break;
              }
            }
            await Promise.all(waits);
            await Promise.all(stores.map((s) => s.settled()));

            // Every write has reached Redis: a gateway joining now reads the truth, and every view must come to it.
            const fresh = new RedisRoutingStore({ url: redis.url, clusterName: cluster, gatewayId: "gw-fresh" });
            await fresh.connect();
            const truth = viewOf(fresh);
            await fresh.close();
            const expected = expectedView(models);
            expect([truth.loads, truth.total]).toEqual([expected.loads, expected.total]);
            await pollUntil(
              () => stores.every((store) => JSON.stringify(viewOf(store)) === JSON.stringify(truth)),
              "every view to come to Redis's state",
              3000,
              5,
            );
            for (const store of stores) {
              for (const s of SESSIONS) {
                const holder = store.holder(s);
                if (expected.holders[s]!.length === 0) expect(holder).toBeUndefined();
                else expect(expected.holders[s]).toContain(holder);
              }
            }
            expect(truth.loads[CAPPED]).toBeLessThanOrEqual(CAP);
            if (cappedRefused) expect(truth.loads[CAPPED]! + cappedCloses).toBeGreaterThanOrEqual(CAP);
            expect(truth.slots).toBeLessThanOrEqual(MAX_SLOTS);
            if (slotRefused) expect(truth.slots + slotFrees).toBeGreaterThanOrEqual(MAX_SLOTS);
          }
        } finally {
          await close();
        }
      }),
      { seed: Number(process.env.MODEL_SEED ?? 20261201), numRuns: Number(process.env.MODEL_RUNS ?? 30) },
    );
    expect(runs).toBeGreaterThanOrEqual(Number(process.env.MODEL_RUNS ?? 30));
  },
  120_000,
);
