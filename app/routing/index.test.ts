import { expect, test } from "bun:test";
import { FakeInstanceView } from "./fake-view.ts";
import { createStrategy } from "./index.ts";
import { routingConfig } from "./test-config.ts";

test("ROUTING_MODE alone selects the strategy", () => {
  for (const mode of ["shared", "pool", "session", "autoscale"]) {
    const strategy = createStrategy(routingConfig({ ROUTING_MODE: mode }), new FakeInstanceView());
    expect(strategy.mode).toBe(mode as typeof strategy.mode);
  }
});

test("the injected clock stamps load changes", () => {
  const strategy = createStrategy(routingConfig({ ROUTING_MODE: "shared" }), new FakeInstanceView(), undefined, () => 0);
  strategy.opened("a", "shared");
  expect(strategy.coordinatorView().instances).toEqual([
    { id: "shared", sessions: 1, connections: 0, lastChangeAt: "1970-01-01T00:00:00.000Z" },
  ]);
});
