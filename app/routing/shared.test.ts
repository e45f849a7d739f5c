import { describe, expect, test } from "bun:test";
import { Harness, strategyConformance } from "./conformance.ts";
import { SHARED_INSTANCE_ID } from "./instance-ids.ts";
import { SharedStrategy } from "./shared.ts";

strategyConformance("shared", (view, store, clock) => new SharedStrategy(view, store, clock), { requiresSessionId: false });

describe("shared", () => {
  test("every session, with an id or without, goes to the one shared instance, and it is not kept up by routing", () => {
    const harness = new Harness((view, store, clock) => new SharedStrategy(view, store, clock));
    const placed = ["a", undefined, "b", "a"].map((sessionId) => harness.admit(sessionId));
    expect(placed.every((result) => "instanceId" in result && result.instanceId === SHARED_INSTANCE_ID)).toBe(true);
    expect(harness.strategy.coordinatorView().totalSessions).toBe(4);
    expect(harness.strategy.prewarmIds()).toEqual([]);
    expect(harness.strategy.sparesToStart()).toEqual([]);
    expect(harness.strategy.keepAwake(SHARED_INSTANCE_ID)).toBe(false);
  });
});
