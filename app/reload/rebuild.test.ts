/** A reload rebuilds the routing strategy over the routing store it had: what the store knows must carry over. */
import { expect, test } from "bun:test";
import { FakeInstanceView } from "../routing/fake-view.ts";
import { createStrategy, MemoryRoutingStore } from "../routing/index.ts";
import { routingConfig } from "../routing/test-config.ts";

/** Routes and opens a session as the gateway does. */
function place(strategy: ReturnType<typeof createStrategy>, view: FakeInstanceView, sessionId: string): string {
  const decision = strategy.route({ sessionId });
  if (!decision.ok) throw new Error(decision.message);
  strategy.opened(sessionId, decision.instanceId);
  view.connect(decision.instanceId);
  return decision.instanceId;
}

test("autoscale rebuilt over its store keeps filling and scaling down the instances above the minimum", () => {
  const view = new FakeInstanceView();
  const store = new MemoryRoutingStore();
  const env = { ROUTING_MODE: "autoscale", MIN_CONTAINERS: "1", MAX_CONNECTIONS_PER_CONTAINER: "2", SCALE_DOWN_AFTER: "1s" };
  const before = createStrategy(routingConfig(env), view, store, () => 0);
  const placed = ["a", "b", "c"].map((id) => place(before, view, id));
  expect(placed).toEqual(["auto-0", "auto-0", "auto-1"]);

  const after = createStrategy(routingConfig({ ...env, MAX_CONNECTIONS_PER_CONTAINER: "3" }), view, store, () => 0);
  // auto-1 (above the minimum, one session) is still known: the next session fills the least-loaded one.
  expect(place(after, view, "d")).toBe("auto-1");
  after.closed("c", "auto-1");
  after.closed("d", "auto-1");
  view.disconnect("auto-1");
  view.disconnect("auto-1");
  expect(after.reap(5000)).toEqual(["auto-1"]);
});

test("session mode rebuilt over its store does not hand a claimed spare out again", () => {
  const view = new FakeInstanceView();
  const store = new MemoryRoutingStore();
  const env = { ROUTING_MODE: "session", WARM_SPARES: "1" };
  const before = createStrategy(routingConfig(env), view, store);
  view.set("spare-0", "running");
  expect(place(before, view, "first")).toBe("spare-0");
  view.set("spare-1", "running");

  const after = createStrategy(routingConfig(env), view, store);
  expect(after.sparesToStart()).toEqual([]); // spare-1, unclaimed, is adopted again: it runs already
  expect(place(after, view, "second")).toBe("spare-1");
  expect(after.route({ sessionId: "first" })).toEqual({ ok: true, instanceId: "spare-0" });
});
