import { describe, expect, test } from "bun:test";
import { MemoryRoutingStore } from "./store.ts";

describe("MemoryRoutingStore", () => {
  test("counts open sessions per instance and in total", () => {
    const store = new MemoryRoutingStore();
    store.bind("a", "pool-0", 1);
    store.bind("b", "pool-0", 2);
    store.bind("c", "pool-1", 3);
    expect([store.load("pool-0"), store.load("pool-1"), store.load("pool-2"), store.totalLoad()]).toEqual([2, 1, 0, 3]);
    expect(store.unbind("a", "pool-0", 4)).toBe(true);
    expect(store.loads()).toEqual([
      { instanceId: "pool-0", sessions: 1, lastChangeAtMs: 4 },
      { instanceId: "pool-1", sessions: 1, lastChangeAtMs: 3 },
    ]);
  });

  test("a close nobody opened is refused and changes nothing", () => {
    const store = new MemoryRoutingStore();
    store.bind("a", "pool-0", 1);
    expect(store.unbind("a", "pool-1", 2)).toBe(false);
    expect(store.unbind("b", "pool-0", 2)).toBe(false);
    expect(store.unbind("a", "pool-0", 3)).toBe(true);
    expect(store.unbind("a", "pool-0", 4)).toBe(false);
    expect([store.load("pool-0"), store.totalLoad(), store.lastChangeAtMs("pool-0")]).toEqual([0, 0, 3]);
  });

  test("a session open twice during a reconnect keeps its holder until both close", () => {
    const store = new MemoryRoutingStore();
    store.bind("a", "auto-0", 1);
    store.bind("a", "auto-0", 2);
    store.unbind("a", "auto-0", 3);
    expect(store.holder("a")).toBe("auto-0");
    store.unbind("a", "auto-0", 4);
    expect(store.holder("a")).toBeUndefined();
  });

  test("the holder is the instance bound most recently while an older one is still open", () => {
    const store = new MemoryRoutingStore();
    store.bind("a", "pool-1", 1);
    store.bind("a", "pool-2", 2);
    expect(store.holder("a")).toBe("pool-2");
    store.unbind("a", "pool-2", 3);
    expect(store.holder("a")).toBe("pool-1");
  });

  test("remembers and forgets a session's own instance", () => {
    const store = new MemoryRoutingStore();
    store.assign("a", "spare-0");
    expect(store.dedicated("a")).toBe("spare-0");
    expect([...store.assignments()]).toEqual([["a", "spare-0"]]);
    store.release("a");
    expect(store.dedicated("a")).toBeUndefined();
  });
});
