import { expect, test } from "bun:test";
import { pollUntil } from "../test/wait.ts";
import { LoadMeter } from "./load-meter.ts";

test("an idle loop accepts; a loop blocked past the lag limit stops accepting, then accepts again", async () => {
  const meter = new LoadMeter({ tickMs: 20, windowTicks: 3, maxLagMs: 50, maxCpuShare: 2 });
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
  const meter = new LoadMeter({ tickMs: 10, windowTicks: 2, maxLagMs: 1_000, maxCpuShare: 0.85, cpuMs: () => (cpu += 100) });
  try {
    await pollUntil(() => meter.report.cpuShare > 0.85, "a CPU share above the limit");
    expect(meter.report.accepting).toBe(false);
  } finally {
    meter.stop();
  }
});
