/**
 * The routing store's calls the cluster adds to a routing decision, in process, with the Redis store against a
 * private redis-server (two peer stores subscribed, as in a three-gateway cluster) beside the memory store, over
 * the same live sessions: a warm hit (holder() + bind(): answered from the local view, the write goes behind),
 * autoscale's admission (bindWithin: one atomic Lua call) and a cold claim (the instance directory's CLAIM
 * script, then its RELEASE; the memory store's counterpart is its in-process slot).
 */
import { InstanceDirectory } from "../../app/cluster/directory.ts";
import { RedisRoutingStore } from "../../app/cluster/redis-store.ts";
import { MemoryRoutingStore, type RoutingStore } from "../../app/routing/store.ts";
import type { Report } from "../report.ts";
import { summarize } from "../stats.ts";

const NOW_MS = 1_700_000_000_000;
const INSTANCES = 100;

type Samples = { warm_hit: number[]; admission: number[]; cold_claim: number[] };

/** One cold claim of `instanceId` and its release (not timed). */
interface ColdClaim {
  claim(instanceId: string): Promise<unknown>;
  release(instanceId: string): Promise<unknown>;
}

/** The memory store's slot: what a single gateway does in process where a cluster claims in Redis. */
function slotClaim(store: RoutingStore): ColdClaim {
  return { claim: (id) => store.takeSlot(id, 1_000_000), release: (id) => store.freeSlot(id) };
}

/** The cluster's claim: CLAIM writes a `starting` record with a new fence; RELEASE drops it again. */
function directoryClaim(directory: InstanceDirectory): ColdClaim {
  const fences = new Map<string, string>();
  return {
    claim: async (id) => {
      const answer = await directory.claim(id, 1_000_000, 30_000);
      fences.set(id, answer.kind === "refused" ? "" : answer.record.fence);
    },
    release: (id) => directory.release(id, fences.get(id) ?? "", "bench", true),
  };
}

async function measureStore(store: RoutingStore, cold: ColdClaim, liveSessions: number, ops: number): Promise<Samples> {
  for (let i = 0; i < liveSessions; i++) store.bind(`live-${i}`, `auto-${i % INSTANCES}`, NOW_MS);
  await store.settled();
  const samples: Samples = { warm_hit: [], admission: [], cold_claim: [] };
  for (let i = 0; i < ops; i++) {
    const sessionId = `live-${i % liveSessions}`;
    const started = performance.now();
    const instanceId = store.holder(sessionId)!;
    store.bind(sessionId, instanceId, NOW_MS);
    samples.warm_hit.push((performance.now() - started) * 1000);
    store.unbind(sessionId, instanceId, NOW_MS);
    // Keeps the write-behind backlog what a gateway has in flight, not thousands deep.
    if (i % 100 === 99) await store.settled();
  }
  for (let i = 0; i < ops; i++) {
    const started = performance.now();
    await store.bindWithin(`admit-${i}`, `auto-${i % INSTANCES}`, 1_000_000, NOW_MS);
    samples.admission.push((performance.now() - started) * 1000);
    store.unbind(`admit-${i}`, `auto-${i % INSTANCES}`, NOW_MS);
  }
  for (let i = 0; i < ops; i++) {
    const started = performance.now();
    await cold.claim(`cold-${i}`);
    samples.cold_claim.push((performance.now() - started) * 1000);
    await cold.release(`cold-${i}`);
  }
  await store.settled();
  return samples;
}

function figures(samples: Samples, warmup: number) {
  const pick = (values: number[]) => {
    const s = summarize(values.slice(warmup));
    return { p50: s.p50, p99: s.p99 };
  };
  return { warm_hit: pick(samples.warm_hit), admission: pick(samples.admission), cold_claim: pick(samples.cold_claim) };
}

/** Sets `cluster.routing_us.{memory,redis}` with p50/p99 of each call, in microseconds. */
export async function clusterStoreSection(report: Report, redisUrl: string, quick: boolean): Promise<void> {
  const liveSessions = quick ? 2_000 : 10_000;
  const ops = quick ? 2_000 : 10_000;
  const warmup = ops / 10;
  report.progress(`routing store calls: ${ops} of each over ${liveSessions} live sessions, memory and Redis`);
  const memory = new MemoryRoutingStore({ gatewayId: "bench" });
  report.set("cluster.routing_us.memory", figures(await measureStore(memory, slotClaim(memory), liveSessions, ops), warmup));
  const clusterName = `bench-store-${process.pid}`;
  const stores = ["gw-1", "gw-2", "gw-3"].map((gatewayId) => new RedisRoutingStore({ url: redisUrl, clusterName, gatewayId }));
  const directory = new InstanceDirectory({ url: redisUrl, clusterName, gatewayId: "gw-1" });
  try {
    await Promise.all(stores.map((store) => store.connect()));
    await directory.connect();
    report.set("cluster.routing_us.redis", figures(await measureStore(stores[0]!, directoryClaim(directory), liveSessions, ops), warmup));
  } finally {
    await directory.close();
    await Promise.all(stores.map((store) => store.close()));
  }
}
