import { describe, expect, test } from "bun:test";
import { AUTOSCALE_RETRY_AFTER_S, AutoscaleStrategy } from "./autoscale.ts";
import { Harness, strategyConformance } from "./conformance.ts";
import { conformanceConfig, routingConfig } from "./test-config.ts";

strategyConformance("autoscale", (view, store, clock) => new AutoscaleStrategy(conformanceConfig(), view, store, clock), {
  requiresSessionId: true,
});

type Placed = { sessionId: string; instanceId: string };

function autoscale(env: Record<string, string> = {}): Harness {
  const config = routingConfig({
    ROUTING_MODE: "autoscale",
    MAX_CONNECTIONS_PER_CONTAINER: "2",
    MIN_CONTAINERS: "1",
    SCALE_DOWN_AFTER: "2m",
    ...env,
  });
  return new Harness((view, store, clock) => new AutoscaleStrategy(config, view, store, clock));
}

describe("autoscale", () => {
  test("the minimum instances are prewarmed", () => {
    expect(autoscale({ MIN_CONTAINERS: "2" }).strategy.prewarmIds()).toEqual(["auto-0", "auto-1"]);
  });

  test("the minimum instances and unclaimed spares stay awake; scaled-up ones do not", () => {
    const strategy = autoscale({ MIN_CONTAINERS: "2", WARM_SPARES: "1" }).strategy;
    expect(["auto-0", "auto-1", "auto-2", "spare-0", "spare-1"].map((id) => strategy.keepAwake(id))).toEqual([
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  test("a burst of 5 sessions with 2 per container uses 3 instances, even before any has started", () => {
    const harness = autoscale();
    const placed = ["a", "b", "c", "d", "e"].map((sessionId) => {
      const decision = harness.strategy.route({ sessionId });
      if (!decision.ok) throw new Error(decision.message);
      harness.strategy.opened(sessionId, decision.instanceId); // no lease yet: the instance is still cold
      return decision.instanceId;
    });
    expect(placed).toEqual(["auto-0", "auto-0", "auto-1", "auto-1", "auto-2"]);
  });

  test("a new session goes to the least-loaded running instance with room", () => {
    const harness = autoscale({ MIN_CONTAINERS: "3", MAX_CONNECTIONS_PER_CONTAINER: "3" });
    for (const [id, sessions] of [
      ["auto-0", 2],
      ["auto-1", 1],
      ["auto-2", 3],
    ] as const) {
      harness.view.set(id, "running");
      for (let i = 0; i < sessions; i++) harness.strategy.opened(`${id}-${i}`, id);
    }
    expect(harness.strategy.route({ sessionId: "new" })).toEqual({ ok: true, instanceId: "auto-1" });
  });

  test("an instance whose transcriber says it cannot keep up is passed over: the next one, then a new one, then 503", () => {
    const harness = autoscale({ MIN_CONTAINERS: "2", MAX_CONNECTIONS_PER_CONTAINER: "4", MAX_INSTANCES: "3" });
    for (const id of ["auto-0", "auto-1"]) harness.view.set(id, "running");
    harness.strategy.opened("held", "auto-1"); // auto-0 is the least loaded
    harness.view.setAccepting("auto-0", false);
    expect(harness.strategy.route({ sessionId: "a" })).toEqual({ ok: true, instanceId: "auto-1" });
    harness.view.setAccepting("auto-1", false);
    expect(harness.strategy.route({ sessionId: "b" })).toEqual({ ok: true, instanceId: "auto-2" });
    harness.view.set("auto-2", "running").setAccepting("auto-2", false);
    expect(harness.strategy.route({ sessionId: "c" })).toMatchObject({ ok: false, status: 503, reason: "capacity" });
    harness.view.setAccepting("auto-0", true); // keeping up again
    expect(harness.strategy.route({ sessionId: "d" })).toEqual({ ok: true, instanceId: "auto-0" });
  });

  test("a reconnect of a session still open goes to the instance holding it, full or not", () => {
    const harness = autoscale();
    const first = harness.admit("caller") as Placed;
    harness.admit("other");
    expect(harness.strategy.route({ sessionId: "caller" })).toEqual({ ok: true, instanceId: first.instanceId });
  });

  test("at MAX_INSTANCES with every instance full a new session is refused with Retry-After", () => {
    const harness = autoscale({ MAX_INSTANCES: "2" });
    for (const sessionId of ["a", "b", "c", "d"]) harness.admit(sessionId);
    expect(harness.strategy.route({ sessionId: "e" })).toMatchObject({
      ok: false,
      reason: "capacity",
      retryAfterS: AUTOSCALE_RETRY_AFTER_S,
    });
  });

  test("instances above the minimum are reaped after SCALE_DOWN_AFTER without sessions, the minimum never", () => {
    const harness = autoscale();
    const sessions = ["a", "b", "c", "d", "e"].map((sessionId) => harness.admit(sessionId) as Placed);
    expect(harness.view.runningCount()).toBe(3);
    for (const session of sessions) harness.end(session);

    harness.nowMs += 119_000;
    expect(harness.strategy.reap(harness.nowMs)).toEqual([]);
    harness.nowMs += 1_000;
    expect(harness.strategy.reap(harness.nowMs)).toEqual(["auto-1", "auto-2"]);
  });

  test("an instance with an open session is never reaped", () => {
    const harness = autoscale();
    for (const sessionId of ["a", "b", "c"]) harness.admit(sessionId);
    harness.nowMs += 3_600_000;
    expect(harness.strategy.reap(harness.nowMs)).toEqual([]);
  });

  test("after scale-down the next scale-up reuses the lowest free id", () => {
    const harness = autoscale();
    const sessions = ["a", "b", "c", "d", "e"].map((sessionId) => harness.admit(sessionId) as Placed);
    harness.end(sessions[2]!);
    harness.end(sessions[3]!);
    harness.nowMs += 120_000;
    for (const id of harness.strategy.reap(harness.nowMs)) harness.view.set(id, "sleeping");
    expect(harness.view.state("auto-1")).toBe("sleeping");
    harness.admit("f");
    expect(harness.strategy.route({ sessionId: "g" })).toEqual({ ok: true, instanceId: "auto-1" });
  });

  test("the coordinator view shows sessions per instance, the minimum ones included", () => {
    const harness = autoscale({ MIN_CONTAINERS: "2" });
    harness.admit("a");
    const view = harness.strategy.coordinatorView();
    expect(view.totalSessions).toBe(1);
    expect(view.instances.map(({ id, sessions }) => [id, sessions])).toEqual([
      ["auto-0", 1],
      ["auto-1", 0],
    ]);
    expect(view.instances[0]!.lastChangeAt).toBe(new Date(harness.nowMs).toISOString());
    expect(view.instances[1]!.lastChangeAt).toBeNull();
  });

  describe("with WARM_SPARES=1", () => {
    test("a scale-up takes the running spare, which then serves and scales down like any instance", () => {
      const harness = autoscale({ WARM_SPARES: "1" });
      expect(harness.strategy.sparesToStart()).toEqual(["spare-0"]);
      harness.view.set("spare-0", "running");
      const sessions = ["a", "b", "c", "d"].map((sessionId) => harness.admit(sessionId) as Placed);
      expect(sessions.map((s) => s.instanceId)).toEqual(["auto-0", "auto-0", "spare-0", "spare-0"]);
      expect(harness.strategy.sparesToStart()).toEqual(["spare-1"]);

      for (const session of sessions) harness.end(session);
      harness.nowMs += 120_000;
      expect(harness.strategy.reap(harness.nowMs)).toEqual(["spare-0"]);
    });

    test("a spare a peer gateway claimed (its bind counted in the shared store) scales down here too", () => {
      const harness = autoscale({ WARM_SPARES: "1" });
      harness.view.set("spare-0", "running");
      // What a peer's notice does to a shared store's view: the count moves, no opened() on this gateway.
      harness.store.bind("peer-session", "spare-0", harness.nowMs);
      harness.store.unbind("peer-session", "spare-0", harness.nowMs);
      harness.nowMs += 120_000;
      expect(harness.strategy.reap(harness.nowMs)).toEqual(["spare-0"]);
    });
  });
});
