import { describe, expect, test } from "bun:test";
import { Harness, strategyConformance } from "./conformance.ts";
import { sessionInstanceId } from "./instance-ids.ts";
import { SessionStrategy } from "./session.ts";
import { conformanceConfig, routingConfig } from "./test-config.ts";

strategyConformance(
  "session",
  (view, store, clock) => new SessionStrategy(conformanceConfig({ MAX_INSTANCES: "10000" }), view, store, clock),
  {
    requiresSessionId: true,
  },
);

function session(env: Record<string, string> = {}): Harness {
  const config = routingConfig({ ROUTING_MODE: "session", SLEEP_AFTER: "30s", ...env });
  return new Harness((view, store, clock) => new SessionStrategy(config, view, store, clock));
}

describe("session", () => {
  test("a session without sessionId is refused with a message naming sessionId", () => {
    const decision = session().strategy.route({});
    expect(decision).toMatchObject({ ok: false, reason: "session_required" });
    expect(!decision.ok && decision.message).toContain("sessionId");
  });

  test("each sessionId gets its own instance named by a digest, never by the id", () => {
    const id = sessionInstanceId("Alice.Smith:42");
    expect(id).toMatch(/^session-[0-9a-f]{16}$/);
    expect(sessionInstanceId("Alice.Smith:42")).toBe(id);
    expect(sessionInstanceId("Alice.Smith:43")).not.toBe(id);
    expect(session().strategy.route({ sessionId: "Alice.Smith:42" })).toEqual({ ok: true, instanceId: id });
  });

  test("a reconnect after the session closed lands on the same instance", () => {
    const harness = session();
    const first = harness.admit("caller") as { sessionId: string; instanceId: string };
    harness.end(first);
    expect(harness.admit("caller")).toEqual(first);
  });

  test("at MAX_INSTANCES running a new session is refused with Retry-After; once one sleeps it is admitted", () => {
    const harness = session({ MAX_INSTANCES: "2" });
    const a = harness.admit("a") as { sessionId: string; instanceId: string };
    harness.admit("b");
    const refused = harness.strategy.route({ sessionId: "c" });
    expect(refused).toMatchObject({ ok: false, reason: "capacity", retryAfterS: 30 });
    // A reconnect of a session that already has its instance is not a new instance.
    expect(harness.strategy.route({ sessionId: "a" })).toEqual({ ok: true, instanceId: a.instanceId });

    harness.end(a);
    expect(harness.strategy.route({ sessionId: "c" })).toMatchObject({ ok: false, reason: "capacity" });
    harness.view.set(a.instanceId, "sleeping");
    expect(harness.strategy.route({ sessionId: "c" })).toEqual({ ok: true, instanceId: sessionInstanceId("c") });
  });

  test("a burst routed before any instance starts still stops at MAX_INSTANCES", () => {
    const harness = session({ MAX_INSTANCES: "2" });
    const results = ["a", "b", "c"].map((sessionId) => {
      const decision = harness.strategy.route({ sessionId });
      if (decision.ok) harness.strategy.opened(sessionId, decision.instanceId); // no lease yet
      return decision.ok ? "admitted" : decision.reason;
    });
    expect(results).toEqual(["admitted", "admitted", "capacity"]);
  });

  describe("with WARM_SPARES=1", () => {
    test("the gateway is asked to start one spare, within MAX_INSTANCES", () => {
      expect(session({ WARM_SPARES: "1" }).strategy.sparesToStart()).toEqual(["spare-0"]);
      const full = session({ WARM_SPARES: "1", MAX_INSTANCES: "1" });
      full.admit("a");
      expect(full.strategy.sparesToStart()).toEqual([]);
    });

    test("a new session takes the running spare and a replacement is asked for", () => {
      const harness = session({ WARM_SPARES: "1" });
      harness.view.set("spare-0", "running");
      expect(harness.strategy.keepAwake("spare-0")).toBe(true);
      expect(harness.strategy.sparesToStart()).toEqual([]);
      const placed = harness.admit("caller") as { sessionId: string; instanceId: string };
      expect(placed.instanceId).toBe("spare-0");
      expect(harness.strategy.sparesToStart()).toEqual(["spare-1"]);
      expect(harness.strategy.keepAwake("spare-0")).toBe(false); // now an ordinary session instance
      // The next new session does not get the claimed spare.
      expect(harness.strategy.route({ sessionId: "other" })).toEqual({ ok: true, instanceId: sessionInstanceId("other") });
    });

    test("a session on a spare reconnects to it while it runs, and to its own instance once it sleeps", () => {
      const harness = session({ WARM_SPARES: "1" });
      harness.view.set("spare-0", "running");
      const placed = harness.admit("caller") as { sessionId: string; instanceId: string };
      harness.end(placed);
      expect(harness.strategy.route({ sessionId: "caller" })).toEqual({ ok: true, instanceId: "spare-0" });

      harness.view.set("spare-0", "sleeping");
      harness.strategy.reap(harness.nowMs);
      expect(harness.store.dedicated("caller")).toBeUndefined();
      expect(harness.strategy.route({ sessionId: "caller" })).toEqual({ ok: true, instanceId: sessionInstanceId("caller") });
    });

    test("at MAX_INSTANCES a running spare still takes a new session", () => {
      const harness = session({ WARM_SPARES: "1", MAX_INSTANCES: "2" });
      harness.admit("a");
      harness.view.set("spare-0", "running");
      expect(harness.strategy.sparesToStart()).toEqual([]);
      expect(harness.strategy.route({ sessionId: "b" })).toEqual({ ok: true, instanceId: "spare-0" });
    });
  });
});
