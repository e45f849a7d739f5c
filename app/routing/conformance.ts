/**
 * The contract every routing strategy keeps, as bun:test cases registered for any strategy factory
 * (DESIGN.md section 8: every implementation passes one shared suite). Run by conformance.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { FakeInstanceView } from "./fake-view.ts";
import { MemoryRoutingStore, type RoutingStore } from "./store.ts";
import type { InstanceView, RouteRequest, RoutingStrategy } from "./strategy.ts";

export type StrategyFactory = (view: InstanceView, store: RoutingStore, clock: () => number) => RoutingStrategy;

export interface ConformanceOptions {
  /** session and autoscale refuse a session without sessionId. */
  requiresSessionId: boolean;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so "random order" is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Routes and admits sessions as the gateway does: route, opened at once, then a lease on the instance. */
export class Harness {
  readonly view = new FakeInstanceView();
  readonly store = new MemoryRoutingStore();
  nowMs = 1_700_000_000_000;
  readonly strategy: RoutingStrategy;
  private requests = 0;

  constructor(make: StrategyFactory) {
    this.strategy = make(this.view, this.store, () => this.nowMs);
  }

  /** Admits one session; returns where it went, or the refusal reason. */
  admit(sessionId?: string): { sessionId: string; instanceId: string } | { refused: string } {
    const request: RouteRequest = sessionId === undefined ? {} : { sessionId };
    const decision = this.strategy.route(request);
    if (!decision.ok) return { refused: decision.reason };
    const id = sessionId ?? `request-${this.requests++}`;
    this.strategy.opened(id, decision.instanceId);
    this.view.connect(decision.instanceId);
    return { sessionId: id, instanceId: decision.instanceId };
  }

  end(session: { sessionId: string; instanceId: string }): void {
    this.strategy.closed(session.sessionId, session.instanceId);
    this.view.disconnect(session.instanceId);
  }
}

function admitted(result: ReturnType<Harness["admit"]>): { sessionId: string; instanceId: string } {
  if ("refused" in result) throw new Error(`refused: ${result.refused}`);
  return result;
}

/** Registers the conformance cases for one strategy. */
export function strategyConformance(name: string, make: StrategyFactory, options: ConformanceOptions): void {
  describe(`${name} strategy conformance`, () => {
    test("the same requests in the same order get the same decisions", () => {
      const run = () => {
        const harness = new Harness(make);
        return Array.from({ length: 500 }, (_, i) => harness.admit(`s-${(i * 7) % 300}`));
      };
      expect(run()).toEqual(run());
    });

    test("opening and closing many sessions in random order leaves no load anywhere", () => {
      const harness = new Harness(make);
      const random = seededRandom(42);
      const open = Array.from({ length: 2_000 }, (_, i) => admitted(harness.admit(`s-${i % 1_500}`)));
      for (let i = open.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [open[i], open[j]] = [open[j]!, open[i]!];
      }
      for (const session of open) harness.end(session);
      const view = harness.strategy.coordinatorView();
      expect(view.totalSessions).toBe(0);
      expect(view.instances.every((entry) => entry.sessions === 0)).toBe(true);
    });

    test("closing the same session twice does not free a second slot", () => {
      const harness = new Harness(make);
      const first = admitted(harness.admit("a"));
      admitted(harness.admit("b"));
      harness.strategy.closed(first.sessionId, first.instanceId);
      harness.strategy.closed(first.sessionId, first.instanceId);
      expect(harness.strategy.coordinatorView().totalSessions).toBe(1);
    });

    test("a reconnect while the session is still open lands on the same instance", () => {
      const harness = new Harness(make);
      for (let i = 0; i < 50; i++) admitted(harness.admit(`other-${i}`));
      const first = admitted(harness.admit("caller-7"));
      for (let i = 50; i < 100; i++) admitted(harness.admit(`other-${i}`));
      expect(admitted(harness.admit("caller-7")).instanceId).toBe(first.instanceId);
    });

    test("instance ids are container-safe and never carry the raw session id", () => {
      const harness = new Harness(make);
      const { instanceId } = admitted(harness.admit("Alice.Smith:42"));
      expect(instanceId).toMatch(/^[a-z0-9-]{1,63}$/);
      expect(instanceId.toLowerCase()).not.toContain("alice");
    });

    test(options.requiresSessionId ? "a session without sessionId is refused as session_required" : "a session without sessionId is placed", () => {
      const harness = new Harness(make);
      const result = harness.admit();
      if (options.requiresSessionId) expect(result).toEqual({ refused: "session_required" });
      else expect("instanceId" in result).toBe(true);
    });

    test("prewarm ids are stable and container-safe", () => {
      const harness = new Harness(make);
      const ids = harness.strategy.prewarmIds();
      expect(harness.strategy.prewarmIds()).toEqual(ids);
      for (const id of ids) expect(id).toMatch(/^[a-z0-9-]{1,63}$/);
    });

    test("decisions stay in microseconds with 10,000 live sessions (p99 printed)", () => {
      const harness = new Harness(make);
      for (let i = 0; i < 10_000; i++) admitted(harness.admit(`live-${i}`));
      const samplesUs: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const sessionId = i % 10 === 0 ? `live-${i}` : `new-${i}`;
        const started = performance.now();
        harness.strategy.route({ sessionId });
        samplesUs.push((performance.now() - started) * 1000);
      }
      samplesUs.sort((a, b) => a - b);
      const at = (q: number) => samplesUs[Math.floor(q * (samplesUs.length - 1))]!.toFixed(2);
      console.log(`[${name}] route() with 10,000 live sessions: p50 ${at(0.5)} us, p99 ${at(0.99)} us`);
      expect(samplesUs.length).toBe(10_000);
    });
  });
}
