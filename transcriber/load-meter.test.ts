import { expect, test } from "bun:test";
import { pollUntil } from "../test/wait.ts";
import { machineId } from "./host-cpu.ts";
import { LoadMeter, mainThreadCpuMs, maxCpuShareFor, OverloadJudge } from "./load-meter.ts";

test("an idle loop accepts; a loop blocked past the lag limit stops accepting, then accepts again", async () => {
  const meter = new LoadMeter({ tickMs: 20, windowTicks: 3, maxLagMs: 50, maxCpuShare: 2, sustainWindows: 1 });
  try {
    await Bun.sleep(150);
    expect(meter.report.accepting).toBe(true);
    const until = performance.now() + 120;
    while (performance.now() < until) {
      // Busy on purpose: a transcriber that cannot get back to its loop.
    }
    await pollUntil(() => !meter.report.accepting, "the meter to report the blocked loop");
    expect(meter.report.eventLoopLagMs).toBeGreaterThan(50);
    await pollUntil(() => meter.report.accepting, "the meter to recover");
  } finally {
    meter.stop();
  }
});

test("CPU share above the limit stops accepting even when ticks are on time", async () => {
  let cpu = 0;
  const meter = new LoadMeter({
    tickMs: 10,
    windowTicks: 2,
    maxLagMs: 1_000,
    maxCpuShare: 0.85,
    sustainWindows: 1,
    cpuMs: () => (cpu += 100),
  });
  try {
    await pollUntil(() => meter.report.cpuShare > 0.85, "a CPU share above the limit");
    expect(meter.report.accepting).toBe(false);
  } finally {
    meter.stop();
  }
});

test("one busy window is a burst, not an overload: only windows over a limit in a row stop it accepting", () => {
  const judge = new OverloadJudge(50, 0.85, 2);
  const accepting = (windows: Array<[lagMs: number, cpuShare: number]>) => windows.map(([lag, cpu]) => judge.window(lag, cpu).accepting);
  expect(
    accepting([
      [10, 0.2],
      [180, 0.4],
      [12, 0.3],
      [5, 0.95],
      [8, 0.2],
    ]),
  ).toEqual([true, true, true, true, true]);
  expect(
    accepting([
      [90, 0.5],
      [20, 0.97],
      [70, 0.99],
    ]),
  ).toEqual([true, false, false]);
  expect(judge.window(200, 0.99)).toEqual({ eventLoopLagMs: 200, cpuShare: 0.99, accepting: false, cpuMax: 0.85 });
  expect(judge.window(3, 0.1).accepting).toBe(true); // one good window takes sessions again
});

test("the main thread's CPU time comes from /proc and grows with work done on it", () => {
  const cpuMs = mainThreadCpuMs();
  const before = cpuMs();
  const until = performance.now() + 200;
  while (performance.now() < until) {
    // busy on this thread
  }
  expect(cpuMs() - before).toBeGreaterThanOrEqual(100);
});

test("the CPU mark is 85 % of what the thread can get: one core, or the container's cap below that", () => {
  expect(maxCpuShareFor(1)).toBeCloseTo(0.85);
  expect(maxCpuShareFor(4)).toBeCloseTo(0.85); // one JavaScript thread uses one core however many the container has
  expect(maxCpuShareFor(0.25)).toBeCloseTo(0.2125);
});

test("each window carries the machine's id and the least busy share of its last windows (a moment's work does not count)", async () => {
  // Busy shares of the windows in turn; the meter reads the host's ticks once at start, then once per window.
  const shares = [0.95, 0.3, 0.97, 0.96, 0.98];
  let ticks = { busy: 0, total: 0, steal: 0 };
  let windows = 0;
  const reported: number[] = [];
  const meter = new LoadMeter({
    tickMs: 20,
    windowTicks: 3,
    hostSustainWindows: 3,
    hostTicks: () => {
      if (windows > 0) {
        const share = shares[Math.min(windows - 1, shares.length - 1)]!;
        ticks = { busy: ticks.busy + share * 100, total: ticks.total + 100, steal: 0 };
      }
      windows++;
      return ticks;
    },
  });
  const without = new LoadMeter({ tickMs: 10, windowTicks: 2, hostTicks: null });
  try {
    await pollUntil(
      () => {
        const busy = meter.report.hostCpuBusy;
        if (busy !== undefined && reported.at(-1) !== busy) reported.push(busy);
        return windows > shares.length;
      },
      "five windows with the machine's figure",
      2_000,
      1,
    );
    // 0.95, then the 0.3 window holds the figure down until three busy windows in a row lift it.
    expect(reported).toEqual([0.95, 0.3, 0.96]);
    expect(meter.report.hostId).toBe(machineId());
    expect(meter.report.accepting).toBe(true); // the figure is the gateway's to weigh, against HOST_CPU_MAX
    expect(without.report.hostCpuBusy).toBeUndefined();
  } finally {
    meter.stop();
    without.stop();
  }
});

test("each window reports its mark and the sessions it covers, on average over its ticks", async () => {
  let open = 0;
  const meter = new LoadMeter({ tickMs: 10, windowTicks: 4, hostTicks: null, maxCpuShare: 0.2125, sessions: () => open });
  try {
    await pollUntil(() => meter.report.sessions === 0, "a window with no session", 2_000, 1);
    expect(meter.report.cpuMax).toBe(0.213);
    open = 30;
    await pollUntil(() => meter.report.sessions === 30, "a window of 30 sessions throughout", 2_000, 1);
    // Sessions opening during a window: its figure covers their average, not the count at its end.
    const seen = new Set<number>();
    const ramp = setInterval(() => (open += 1), 10);
    try {
      await pollUntil(
        () => {
          seen.add(meter.report.sessions!);
          return open >= 60;
        },
        "a ramp of 30 more",
        2_000,
        1,
      );
    } finally {
      clearInterval(ramp);
    }
    // An average of counts that rose during the window: between them, and not a whole count.
    expect([...seen].some((n) => n > 30 && n < 60 && !Number.isInteger(n))).toBe(true);
  } finally {
    meter.stop();
  }
});

test("without a session count the report carries none", () => {
  const judge = new OverloadJudge(100, 0.85, 3);
  expect(judge.window(1, 0.1).sessions).toBeUndefined();
});
