import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { busyShare, hostTicksReader, machineId, parseHostTicks } from "./host-cpu.ts";

test("the aggregate cpu line's ticks: stolen time is busy, iowait is idle; other lines and bad text are not read", () => {
  const stat = "cpu  100 5 40 800 30 0 10 15 0 0\ncpu0 50 2 20 400 15 0 5 8 0 0\nintr 1 2 3\n";
  expect(parseHostTicks(stat)).toEqual({ busy: 100 + 5 + 40 + 10 + 15, total: 100 + 5 + 40 + 10 + 15 + 800 + 30, steal: 15 });
  expect(parseHostTicks("cpu  10 0 5 85\n")).toEqual({ busy: 15, total: 100, steal: 0 }); // an old kernel's four fields
  expect(parseHostTicks("cpu0 1 2 3 4\n")).toBeUndefined();
  expect(parseHostTicks("cpu  a b c d\n")).toBeUndefined();
  expect(parseHostTicks("")).toBeUndefined();
});

test("the busy share between two readings, within 0 and 1; none when no tick passed", () => {
  const at = (busy: number, total: number) => ({ busy, total, steal: 0 });
  expect(busyShare(at(100, 1_000), at(190, 1_200))).toBeCloseTo(0.45);
  expect(busyShare(at(100, 1_000), at(100, 1_000))).toBeUndefined();
  expect(busyShare(at(100, 1_000), at(400, 1_100))).toBe(1);
});

test("this machine's /proc/stat: the share rises while every core is kept busy", async () => {
  const read = hostTicksReader();
  expect(read).toBeDefined();
  const before = read!()!;
  // Every core busy for 600 ms (bounded: each burner stops by itself).
  const burners = cpus().map(() =>
    Bun.spawn([process.execPath, "-e", "const end = Date.now() + 600; while (Date.now() < end) {}"], { stdout: "ignore" }),
  );
  await Promise.all(burners.map((burner) => burner.exited));
  expect(busyShare(before, read!()!)).toBeGreaterThan(0.6);
  expect(hostTicksReader("/nonexistent/stat")).toBeUndefined();
});

test("the machine id is the kernel's boot id, the same on every read", () => {
  expect(machineId()).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  expect(machineId()).toBe(machineId());
  expect(machineId("/nonexistent/boot_id").length).toBeGreaterThan(0); // the hostname
});
