import { expect, test } from "bun:test";
import { FIGURE_LAG_MS, LEARN_MIN_SESSIONS, LEARN_MIN_SHARE, LoadProjection } from "./load-projection.ts";

/** A projection on a clock the test moves; `hold` files one figure a second for `seconds`, the sessions unchanged. */
function rig() {
  let nowMs = 0;
  const projection = new LoadProjection(() => nowMs);
  return {
    projection,
    advance: (ms: number) => (nowMs += ms),
    hold(busy: number, sessions: number, seconds = 3) {
      for (let i = 0; i < seconds; i++) {
        projection.observe("m", busy, sessions);
        nowMs += 1_000;
      }
    },
  };
}

test("no cost is learned under LEARN_MIN_SESSIONS sessions, so the figure alone decides", () => {
  const { projection, hold } = rig();
  hold(0.3, LEARN_MIN_SESSIONS - 1, 5);
  expect(projection.costPerSession("m")).toBeUndefined();
  expect(projection.project("m", 0.3, 400)).toBeUndefined();
});

test("the cost is the figure over the idle one, per session, once the sessions held for the lag; a burst since counts at that cost", () => {
  const { projection, hold } = rig();
  hold(0.05, 0, 1); // idle
  hold(0.35, 100, 3);
  expect(projection.costPerSession("m")).toBeUndefined(); // the idle count is still within the lag
  hold(0.35, 100, 1);
  expect(projection.costPerSession("m")).toBeCloseTo(0.003, 6);
  // 150 sessions opened since (a burst between figures): one more would make the machine 0.35 + 151 x 0.003.
  const projected = projection.project("m", 0.35, 250)!;
  expect(projected.opened).toBe(150);
  expect(projected.withOneMore).toBeCloseTo(0.803, 6);
  // Sessions that ended since do not make room the figure does not show yet.
  expect(projection.project("m", 0.35, 60)!.opened).toBe(0);
  expect(projection.project("other", 0.35, 250)).toBeUndefined();
});

test("figures taken while sessions open fast teach nothing (they hold the starts and another count); the burst stays 'opened since' for the lag", () => {
  const { projection, advance, hold } = rig();
  for (let sessions = 20; sessions <= 200; sessions += 20) hold(0.1 + sessions * 0.004, sessions, 1); // a ramp
  expect(projection.costPerSession("m")).toBeUndefined();
  hold(0.6, 200); // held: 0.6 over 200
  expect(projection.costPerSession("m")).toBeCloseTo(0.003, 6);
  projection.observe("m", 0.6, 300); // a burst of 100 the figure does not show yet
  expect(projection.costPerSession("m")).toBeCloseTo(0.003, 6);
  expect(projection.project("m", 0.6, 300)!.opened).toBe(100);
  advance(FIGURE_LAG_MS + 1);
  expect(projection.project("m", 0.6, 300)!.opened).toBe(0);
});

test("sessions that add less than LEARN_MIN_SHARE to the idle figure teach nothing: other work would be read as theirs", () => {
  const { projection, hold } = rig();
  hold(0.1, 0, 1);
  hold(0.1 + LEARN_MIN_SHARE - 0.01, 200, 4);
  expect(projection.costPerSession("m")).toBeUndefined();
  hold(0.1 + LEARN_MIN_SHARE + 0.05, 200, 1);
  expect(projection.costPerSession("m")).toBeCloseTo(0.001, 6);
});

test("the cost learned over the most sessions is kept; one over far fewer replaces it only once it is a minute old", () => {
  const { projection, advance, hold } = rig();
  hold(0.6, 200);
  expect(projection.costPerSession("m")).toBeCloseTo(0.003, 6);
  hold(0.5, 100, 4); // 0.005 each over 100: more of the machine's other work per session
  expect(projection.costPerSession("m")).toBeCloseTo(0.003, 6);
  hold(0.64, 170, 4); // over 80 % of the 200: a fresher figure of about as many replaces it
  expect(projection.costPerSession("m")).toBeCloseTo(0.64 / 170, 6);
  advance(61_000);
  hold(0.5, 100, 4);
  expect(projection.costPerSession("m")).toBeCloseTo(0.005, 6);
});

test("a saturated figure teaches nothing: a full machine shows less than its sessions ask of it", () => {
  const { projection, hold } = rig();
  hold(0.99, 400);
  hold(0.96, 400);
  expect(projection.costPerSession("m")).toBeUndefined();
  hold(0.5, 200, 4);
  expect(projection.costPerSession("m")).toBeCloseTo(0.5 / 200, 6);
});

test("with the count the figure covers reported beside it, a ramp teaches at once: the cost over that count", () => {
  let nowMs = 0;
  const projection = new LoadProjection(() => nowMs, { saturated: 1.1 });
  projection.observe("auto-0", 0.02, 0, 0); // idle, by its own count
  for (let sessions = 20; sessions <= 60; sessions += 20, nowMs += 1_000) {
    // The gateway has routed 20 more than the figure covers (they opened during and after its window).
    projection.observe("auto-0", 0.02 + sessions * 0.01, sessions + 20, sessions);
    expect(projection.costPerSession("auto-0")).toBeCloseTo(0.01, 6);
  }
  expect(projection.project("auto-0", 0.62, 90, 60)).toMatchObject({ opened: 30 });
  expect(projection.project("auto-0", 0.62, 90, 60)!.withOneMore).toBeCloseTo(0.62 + 31 * 0.01, 6);
  // Past its saturation mark the figure teaches nothing.
  projection.observe("auto-0", 1.2, 100, 100);
  expect(projection.costPerSession("auto-0")).toBeCloseTo(0.01, 6);
  projection.forget("auto-0");
  expect(projection.costPerSession("auto-0")).toBeUndefined();
});
