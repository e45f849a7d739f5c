/** Failed starts back off: however many sessions ask, a broken image costs one start per backoff period. */
import { describe, expect, test } from "bun:test";
import { FakeDriver } from "./fake-driver.ts";
import { Instance } from "./instance.ts";
import { startBackoffMs } from "./start-backoff.ts";

function setup() {
  let nowMs = 1_000_000;
  const driver = new FakeDriver({ startDelayMs: 0 });
  const instance = new Instance({ id: "pool-0", driver, clock: () => nowMs });
  return { driver, instance, advance: (ms: number) => (nowMs += ms) };
}

describe("start-failure backoff", () => {
  test("the schedule retries the first failure at once, then doubles from 1 s up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(startBackoffMs)).toEqual([0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  test("while backing off, acquire() fails at once without asking the driver, and /stats shows when it retries", async () => {
    const { driver, instance, advance } = setup();
    driver.failNextStarts = 100;
    await expect(instance.acquire()).rejects.toThrow(/failed to start/);
    await expect(instance.acquire()).rejects.toThrow(/failed to start/); // first failure: retried at once
    expect(driver.starts).toHaveLength(2);
    const attempts = await Promise.allSettled(Array.from({ length: 50 }, () => instance.acquire()));
    expect(
      attempts.every((a) => a.status === "rejected" && /not starting again for 1000 ms after 2 failed starts/.test(String(a.reason))),
    ).toBe(true);
    expect(driver.starts).toHaveLength(2);
    expect(instance.snapshot()).toMatchObject({ state: "failed", startFailures: 2, connections: 0 });
    expect(instance.snapshot().nextStartAt).toBe(new Date(1_000_000 + 1000).toISOString());
    expect(instance.startBlockedForMs()).toBe(1000);

    advance(1000);
    await expect(instance.acquire()).rejects.toThrow(/failed to start/);
    expect(driver.starts).toHaveLength(3);
    expect(instance.startBlockedForMs()).toBe(2000);
  });

  test("a successful start clears the backoff", async () => {
    const { driver, instance, advance } = setup();
    driver.failNextStarts = 2;
    await expect(instance.acquire()).rejects.toThrow();
    await expect(instance.acquire()).rejects.toThrow();
    advance(1000);
    const lease = await instance.acquire();
    expect(instance.snapshot()).toMatchObject({ state: "running", nextStartAt: null });
    expect(instance.startBlockedForMs()).toBe(0);
    lease.release();
  });

  test("containers that die right after starting back off like failed starts (no crash loop)", async () => {
    const { driver, instance, advance } = setup();
    for (let i = 0; i < 3; i++) {
      advance(instance.startBlockedForMs());
      const lease = await instance.acquire();
      advance(500);
      driver.crash(lease.containerId);
      await Bun.sleep(0);
      lease.release();
    }
    expect(instance.snapshot()).toMatchObject({ state: "failed", startFailures: 3 });
    expect(instance.startBlockedForMs()).toBe(2000);
    expect(driver.starts).toHaveLength(3);
    await expect(instance.acquire()).rejects.toThrow(/not starting again/);
  });

  test("a crash of a container that ran a while is not a failed start: the next session starts it at once", async () => {
    const { driver, instance, advance } = setup();
    const lease = await instance.acquire();
    advance(60_000);
    driver.crash(lease.containerId);
    await Bun.sleep(0);
    lease.release();
    expect(instance.stateName).toBe("failed");
    expect(instance.startBlockedForMs()).toBe(0);
    (await instance.acquire()).release();
    expect(driver.starts).toHaveLength(2);
  });
});
