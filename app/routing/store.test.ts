import { expect, test } from "bun:test";
import { storeConformance } from "./store-conformance.ts";
import { MemoryRoutingStore } from "./store.ts";

storeConformance("MemoryRoutingStore", async () => new MemoryRoutingStore({ gatewayId: "gw-test" }));

test("MemoryRoutingStore names its gateway as given", () => {
  const store = new MemoryRoutingStore({ gatewayId: "gw-a", address: () => "127.0.0.1:8080" });
  store.bind("a", "pool-0", 1);
  expect(store.gateways()).toEqual([{ id: "gw-a", sessions: 1, lastSeenMs: 0, address: "127.0.0.1:8080" }]);
});
