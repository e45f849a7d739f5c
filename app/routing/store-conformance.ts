/**
 * One behavioural suite for every RoutingStore: app/routing/store.test.ts runs it for the memory store,
 * app/cluster/redis-store.test.ts for the Redis store against a real redis-server. Each case gets a fresh store
 * from `make` (closed afterwards) and asserts only what the interface promises to one gateway.
 */
import { expect, test } from "bun:test";
import type { RoutingStore } from "./store.ts";

export interface StoreConformanceOptions {
  /** Registers one case (default bun's `test`; the Redis suite skips without a redis-server). */
  register?: (name: string, fn: () => Promise<void>, timeoutMs?: number) => void;
}

/** Registers the suite under `name`; `make` returns a connected store. */
export function storeConformance(name: string, make: () => Promise<RoutingStore>, options: StoreConformanceOptions = {}): void {
  const register = options.register ?? ((caseName, fn, timeoutMs) => test(caseName, fn, timeoutMs));
  const each = (caseName: string, body: (store: RoutingStore) => Promise<void> | void) =>
    register(
      `${name}: ${caseName}`,
      async () => {
        const store = await make();
        try {
          await body(store);
        } finally {
          await store.close();
        }
      },
      20_000,
    );

  each("counts open sessions per instance and in total", async (store) => {
    store.bind("a", "pool-0", 1);
    store.bind("b", "pool-0", 2);
    store.bind("c", "pool-1", 3);
    expect([store.load("pool-0"), store.load("pool-1"), store.load("pool-2"), store.totalLoad()]).toEqual([2, 1, 0, 3]);
    expect(store.unbind("a", "pool-0", 4)).toBe(true);
    expect(store.loads()).toEqual([
      { instanceId: "pool-0", sessions: 1, lastChangeAtMs: 4 },
      { instanceId: "pool-1", sessions: 1, lastChangeAtMs: 3 },
    ]);
    expect(store.lastChangeAtMs("pool-2")).toBeUndefined();
    await store.settled();
  });

  each("a close nobody opened is refused and changes nothing", (store) => {
    store.bind("a", "pool-0", 1);
    expect(store.unbind("a", "pool-1", 2)).toBe(false);
    expect(store.unbind("b", "pool-0", 2)).toBe(false);
    expect(store.unbind("a", "pool-0", 3)).toBe(true);
    expect(store.unbind("a", "pool-0", 4)).toBe(false);
    expect([store.load("pool-0"), store.totalLoad(), store.lastChangeAtMs("pool-0")]).toEqual([0, 0, 3]);
  });

  each("a session open twice during a reconnect keeps its holder until both close", (store) => {
    store.bind("a", "auto-0", 1);
    store.bind("a", "auto-0", 2);
    store.unbind("a", "auto-0", 3);
    expect(store.holder("a")).toBe("auto-0");
    store.unbind("a", "auto-0", 4);
    expect(store.holder("a")).toBeUndefined();
  });

  each("the holder is the instance bound most recently while an older one is still open", (store) => {
    store.bind("a", "pool-1", 1);
    store.bind("a", "pool-2", 2);
    expect(store.holder("a")).toBe("pool-2");
    store.unbind("a", "pool-2", 3);
    expect(store.holder("a")).toBe("pool-1");
  });

  each("remembers and forgets a session's own instance", async (store) => {
    store.assign("a", "spare-0");
    expect(store.dedicated("a")).toBe("spare-0");
    expect([...store.assignments()]).toEqual([["a", "spare-0"]]);
    store.release("a");
    expect(store.dedicated("a")).toBeUndefined();
    expect([...store.assignments()]).toEqual([]);
    await store.settled();
  });

  each("slots: at most maxInstances are taken, holding one already counts, a freed one can be taken again", async (store) => {
    expect(await store.takeSlot("auto-0", 2)).toBe(true);
    expect(await store.takeSlot("auto-0", 2)).toBe(true);
    expect(await store.takeSlot("auto-1", 2)).toBe(true);
    expect(await store.takeSlot("auto-2", 2)).toBe(false);
    expect(store.slotCount()).toBe(2);
    await store.freeSlot("auto-0");
    await store.freeSlot("auto-0");
    expect(store.slotCount()).toBe(1);
    expect(await store.takeSlot("auto-2", 2)).toBe(true);
  });

  each("bindWithin binds below the cap and refuses at it without changing a count", async (store) => {
    expect(await store.bindWithin("a", "auto-0", 2, 1)).toBe(true);
    store.bind("b", "auto-0", 2);
    expect(await store.bindWithin("c", "auto-0", 2, 3)).toBe(false);
    expect([store.load("auto-0"), store.totalLoad(), store.holder("c")]).toEqual([2, 2, undefined]);
    expect(store.unbind("c", "auto-0", 4)).toBe(false);
    expect(store.unbind("a", "auto-0", 5)).toBe(true);
    expect(await store.bindWithin("c", "auto-0", 2, 6)).toBe(true);
    expect(store.holder("c")).toBe("auto-0");
    await store.settled();
  });

  each("is available, says its kind, and lists itself among the gateways with its open sessions", async (store) => {
    expect(store.available).toBe(true);
    expect(["memory", "redis"]).toContain(store.kind);
    store.bind("a", "pool-0", 1);
    store.bind("b", "pool-1", 1);
    await store.settled();
    const gateways = store.gateways();
    expect(gateways.length).toBeGreaterThanOrEqual(1);
    expect(gateways.reduce((sum, g) => sum + g.sessions, 0)).toBe(2);
    for (const gateway of gateways) expect(gateway.lastSeenMs).toBeGreaterThanOrEqual(0);
  });

  each("loadsByGateway counts an instance's open sessions under this gateway's id, and nothing for an empty one", async (store) => {
    store.bind("a", "pool-0", 1);
    store.bind("b", "pool-0", 2);
    store.bind("c", "pool-1", 3);
    await store.settled();
    const self = store.gateways()[0]!.id;
    expect(store.loadsByGateway("pool-0")).toEqual({ [self]: 2 });
    expect(store.loadsByGateway("pool-1")).toEqual({ [self]: 1 });
    expect(store.loadsByGateway("pool-2")).toEqual({});
    store.unbind("c", "pool-1", 4);
    expect(store.loadsByGateway("pool-1")).toEqual({});
  });

  each("watchLoads hears every instance whose load changed, once per change; a later listener replaces it", async (store) => {
    const heard: string[] = [];
    store.watchLoads((id) => heard.push(id));
    store.bind("a", "auto-0", 1);
    store.bind("b", "auto-1", 2);
    expect(await store.bindWithin("c", "auto-0", 5, 3)).toBe(true);
    store.unbind("a", "auto-0", 4);
    expect(store.unbind("a", "auto-0", 5)).toBe(false); // nothing changed: nothing heard
    expect(heard).toEqual(["auto-0", "auto-1", "auto-0", "auto-0"]);
    const later: string[] = [];
    store.watchLoads((id) => later.push(id));
    store.unbind("b", "auto-1", 6);
    store.watchLoads(undefined);
    store.unbind("c", "auto-0", 7);
    expect([heard.length, later]).toEqual([4, ["auto-1"]]);
    await store.settled();
  });
}
