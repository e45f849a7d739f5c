import { describe, expect, test } from "bun:test";
import { FakeDriver } from "./fake-driver.ts";
import { Instance } from "./instance.ts";

function recordingLogger() {
  const lines: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const push = (obj: object, msg: string) => lines.push({ msg, obj: obj as Record<string, unknown> });
  return { lines, info: push, warn: push };
}

function setup(driver = new FakeDriver()) {
  const logger = recordingLogger();
  const instance = new Instance({ id: "pool-0", driver, logger, env: () => ({ TRANSCRIBER_BACKEND: "echo" }) });
  return { driver, logger, instance };
}

describe("Instance", () => {
  test("starts idle and reports a cold start on first acquire", async () => {
    const { instance, driver } = setup();
    expect(instance.stateName).toBe("idle");
    const lease = await instance.acquire();
    expect(lease.start).toBe("cold");
    expect(instance.stateName).toBe("running");
    expect(instance.connections).toBe(1);
    expect(instance.endpoint).toBe(`${lease.endpoint.host}:${lease.endpoint.port}`);
    expect(driver.starts[0]).toEqual({ instanceId: "pool-0", env: { TRANSCRIBER_BACKEND: "echo" } });
    expect((await instance.acquire()).start).toBe("warm");
    expect(instance.snapshot()).toMatchObject({ state: "running", connections: 2, requests: 2, coldStarts: 1, wakes: 0 });
  });

  test("50 concurrent acquires share a single start", async () => {
    const { instance, driver } = setup();
    const open = driver.gate();
    const pending = Array.from({ length: 50 }, () => instance.acquire());
    expect(instance.stateName).toBe("starting");
    open();
    const leases = await Promise.all(pending);
    expect(driver.starts).toHaveLength(1);
    expect(new Set(leases.map((lease) => lease.containerId)).size).toBe(1);
    expect(leases.every((lease) => lease.start === "cold")).toBe(true);
    expect(instance.connections).toBe(50);
    expect(instance.requests).toBe(50);
  });

  test("release is idempotent and the count never goes negative", async () => {
    const { instance } = setup();
    const lease = await instance.acquire();
    lease.release();
    lease.release();
    expect(instance.connections).toBe(0);
    const other = await instance.acquire();
    lease.release();
    expect(instance.connections).toBe(1);
    other.release();
    expect(instance.connections).toBe(0);
  });

  test("a failed start rejects, marks the instance failed and leaks no count", async () => {
    const { instance, driver } = setup();
    driver.failNextStarts = 1;
    await expect(instance.acquire()).rejects.toThrow(/failed to start/);
    expect(instance.stateName).toBe("failed");
    expect(instance.connections).toBe(0);
    expect(instance.lastError).toContain("start of pool-0 failed");
    const lease = await instance.acquire();
    expect(lease.start).toBe("cold"); // no container ever ran under this identity
  });

  test("a crash marks it failed, fires onCrash once per lease, and the next acquire wakes it", async () => {
    const { instance, driver, logger } = setup();
    const first = await instance.acquire();
    const second = await instance.acquire();
    const seen: string[] = [];
    first.onCrash((info) => seen.push(`first:${info.exitCode}`));
    second.onCrash((info) => seen.push(`second:${info.exitCode}`));
    driver.crash(first.containerId);
    await Bun.sleep(0);
    expect(instance.stateName).toBe("failed");
    expect(instance.lastError).toContain("killed");
    expect(seen.sort()).toEqual(["first:137", "second:137"]);
    const late: number[] = [];
    first.onCrash(() => late.push(1));
    await Bun.sleep(0);
    expect(late).toEqual([1]);
    expect(logger.lines.some((line) => line.msg === "Transcriber container stopped" && String(line.obj.reason).startsWith("crash"))).toBe(
      true,
    );

    const next = await instance.acquire();
    expect(next.start).toBe("wake");
    expect(next.containerId).not.toBe(first.containerId);
    first.release();
    second.release();
    expect(instance.connections).toBe(1);
    expect(seen).toHaveLength(2);
  });

  test("sleep stops the container only when no session is open, and acquire wakes it", async () => {
    const { instance, driver } = setup();
    const lease = await instance.acquire();
    await instance.sleep();
    expect(instance.stateName).toBe("running");
    lease.release();
    await instance.sleep();
    expect(instance.stateName).toBe("sleeping");
    expect(driver.running.size).toBe(0);
    expect(instance.endpoint).toBeUndefined();
    const woken = await instance.acquire();
    expect(woken.start).toBe("wake");
    expect(instance.snapshot()).toMatchObject({ coldStarts: 1, wakes: 1, state: "running" });
  });

  test("a stop during starting leaves no container behind and rejects the waiters", async () => {
    const { instance, driver } = setup();
    const open = driver.gate();
    const pending = instance.acquire();
    const stopping = instance.stop();
    expect(instance.stateName).toBe("stopping");
    open();
    await expect(pending).rejects.toThrow(/stopped while starting/);
    await stopping;
    expect(instance.stateName).toBe("sleeping");
    expect(driver.running.size).toBe(0);
    expect(driver.stops).toHaveLength(1);
    expect(instance.connections).toBe(0);
  });

  test("stop ends a running container regardless of open sessions", async () => {
    const { instance, driver, logger } = setup();
    await instance.acquire();
    await instance.stop();
    expect(instance.stateName).toBe("sleeping");
    expect(driver.running.size).toBe(0);
    const messages = logger.lines.map((line) => line.msg);
    expect(messages).toEqual(["Transcriber container started", "Transcriber container stopped"]);
    expect(logger.lines[0]!.obj).toMatchObject({ instance: "pool-0", start: "cold" });
    expect(logger.lines[1]!.obj).toMatchObject({ instance: "pool-0", reason: "shutdown" });
  });

  test("snapshot is plain JSON with ISO times", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const driver = new FakeDriver({ startDelayMs: 0 });
    const instance = new Instance({ id: "shared", driver, clock: () => now });
    await instance.acquire();
    now += 1_000;
    instance.touch();
    const snapshot = JSON.parse(JSON.stringify(instance.snapshot()));
    expect(snapshot).toMatchObject({
      id: "shared",
      state: "running",
      lastActiveAt: "2026-01-01T00:00:01.000Z",
      startedAt: "2026-01-01T00:00:00.000Z",
      lastError: null,
    });
    expect(snapshot.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(snapshot.containerId).toMatch(/^fake-/);
  });
  test("a container that announced its shutdown takes no session; the next one waits for its exit and wakes a fresh one, not counted as a failure", async () => {
    const { instance, driver } = setup();
    const first = await instance.acquire();
    first.release();
    instance.retire(first.containerId);
    expect(instance.stateName).toBe("stopping");
    const next = instance.acquire();
    await Bun.sleep(20);
    expect(driver.starts).toHaveLength(1); // nothing new while the old one still runs
    driver.crash(first.containerId, { exitCode: 0, reason: "container exited with code 0" });
    const lease = await next;
    expect(lease.start).toBe("wake");
    expect(lease.containerId).not.toBe(first.containerId);
    expect(instance.snapshot()).toMatchObject({ state: "running", startFailures: 0, lastError: null });
    instance.retire("not-its-container"); // a stale notice changes nothing
    expect(instance.stateName).toBe("running");
  });
});
