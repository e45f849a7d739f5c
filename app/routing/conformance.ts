/**
 * The contract every routing strategy keeps, both halves (the selector and the upkeep policy), as bun:test
 * cases registered for any strategy factory. Each mode's own test file calls strategyConformance next to its
 * specific cases, so one file says everything about one mode. Speed is the bench's business, not this suite's.
 */
import { describe, expect, test } from "bun:test";
import { FakeInstanceView } from "./fake-view.ts";
import { autoId } from "./instance-ids.ts";
import { MemoryRoutingStore, type RoutingStore } from "./store.ts";
import type { RouteRequest } from "./selector.ts";
import type { InstanceView, RoutingStrategy } from "./strategy.ts";

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

/** Container-name safe: what every instance id, prewarmed, spare or routed, must be. */
const CONTAINER_SAFE = /^[a-z0-9-]{1,63}$/;

/** One day of the harness clock: past every idle timeout a test config sets. */
const DAY_MS = 86_400_000;

/** Registers the conformance cases for one strategy: selector cases, then upkeep cases. */
export function strategyConformance(name: string, make: StrategyFactory, options: ConformanceOptions): void {
  selectorConformance(name, make, options);
  upkeepConformance(name, make);
}

function selectorConformance(name: string, make: StrategyFactory, options: ConformanceOptions): void {
  describe(`${name} selector conformance`, () => {
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
      expect(instanceId).toMatch(CONTAINER_SAFE);
      expect(instanceId.toLowerCase()).not.toContain("alice");
    });

    test(
      options.requiresSessionId ? "a session without sessionId is refused as session_required" : "a session without sessionId is placed",
      () => {
        const harness = new Harness(make);
        const result = harness.admit();
        if (options.requiresSessionId) expect(result).toEqual({ refused: "session_required" });
        else expect("instanceId" in result).toBe(true);
        const decision = harness.strategy.route({});
        if (!decision.ok) expect(decision.status).toBe(400);
      },
    );

    test("with 10,000 live sessions route() changes nothing: reconnects find their holder, new ids a decision", () => {
      const harness = new Harness(make);
      const live = Array.from({ length: 10_000 }, (_, i) => admitted(harness.admit(`live-${i}`)));
      const before = harness.strategy.coordinatorView();
      for (let i = 0; i < 10_000; i++) {
        if (i % 10 === 0) {
          expect(harness.strategy.route({ sessionId: live[i]!.sessionId })).toEqual({ ok: true, instanceId: live[i]!.instanceId });
          continue;
        }
        const decision = harness.strategy.route({ sessionId: `new-${i}` });
        if (decision.ok) expect(decision.instanceId).toMatch(CONTAINER_SAFE);
        else expect([400, 503]).toContain(decision.status);
      }
      expect(harness.strategy.coordinatorView()).toEqual(before);
    });
  });
}

function upkeepConformance(name: string, make: StrategyFactory): void {
  describe(`${name} upkeep conformance`, () => {
    test("prewarm ids are stable, container-safe and distinct", () => {
      const harness = new Harness(make);
      const ids = harness.strategy.prewarmIds();
      expect(harness.strategy.prewarmIds()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(CONTAINER_SAFE);
    });

    test("reap never names an instance that holds a session, however long it has been", () => {
      const harness = new Harness(make);
      for (let i = 0; i < 300; i++) admitted(harness.admit(`s-${i}`));
      harness.nowMs += DAY_MS;
      for (const id of harness.strategy.reap(harness.nowMs)) expect(harness.store.load(id)).toBe(0);
    });

    test("once every session ended and a day passed, reap names only running instances it does not keep", () => {
      const harness = new Harness(make);
      const open = Array.from({ length: 300 }, (_, i) => admitted(harness.admit(`s-${i}`)));
      for (const session of open) harness.end(session);
      harness.nowMs += DAY_MS;
      const prewarm = new Set(harness.strategy.prewarmIds());
      const stop = harness.strategy.reap(harness.nowMs);
      for (const id of stop) {
        expect(harness.view.state(id)).toBe("running");
        expect(prewarm.has(id)).toBe(false);
        expect(harness.strategy.keepAwake(id)).toBe(false);
      }
      // Nothing was stopped in between: a second pass asks for the same instances again, no others.
      expect(harness.strategy.reap(harness.nowMs)).toEqual(stop);
    });

    test("spares to start hold no session and are not up; started, they stay awake and are not asked for again", () => {
      const harness = new Harness(make);
      const spares = harness.strategy.sparesToStart();
      for (const id of spares) {
        expect(id).toMatch(CONTAINER_SAFE);
        expect(harness.store.load(id)).toBe(0);
        expect(harness.view.state(id)).toBeUndefined();
        harness.view.set(id, "running");
      }
      for (const id of spares) expect(harness.strategy.keepAwake(id)).toBe(true);
      const again = harness.strategy.sparesToStart();
      expect(again.filter((id) => spares.includes(id))).toEqual([]);
    });

    test("a spare that a session claims is no longer kept awake as a spare", () => {
      const harness = new Harness(make);
      const spares = harness.strategy.sparesToStart();
      for (const id of spares) harness.view.set(id, "running");
      const placed = Array.from({ length: 50 }, (_, i) => harness.admit(`claim-${i}`));
      const prewarm = new Set(harness.strategy.prewarmIds());
      for (const result of placed) {
        if ("refused" in result || !spares.includes(result.instanceId) || prewarm.has(result.instanceId)) continue;
        expect(harness.strategy.keepAwake(result.instanceId)).toBe(false);
      }
    });

    test("an id the strategy never made is never kept awake", () => {
      const harness = new Harness(make);
      expect(harness.strategy.keepAwake("not-an-instance")).toBe(false);
    });

    test("asking upkeep its questions changes no routing decision", () => {
      const quiet = new Harness(make);
      const asked = new Harness(make);
      for (let i = 0; i < 400; i++) {
        const sessionId = `s-${(i * 7) % 250}`;
        asked.strategy.prewarmIds();
        asked.strategy.sparesToStart();
        asked.strategy.keepAwake(autoId(i % 5));
        asked.strategy.reap(asked.nowMs);
        expect(asked.admit(sessionId)).toEqual(quiet.admit(sessionId));
      }
    });
  });
}
