import { describe, expect, test } from "bun:test";
import { FakeDriver } from "./fake-driver.ts";
import { InstanceRegistry } from "./instances.ts";

describe("InstanceRegistry", () => {
  test("get creates an idle instance once per id", () => {
    const registry = new InstanceRegistry({ driver: new FakeDriver() });
    const instance = registry.get("pool-1");
    expect(instance.stateName).toBe("idle");
    expect(registry.get("pool-1")).toBe(instance);
    expect(registry.list().map((each) => each.id)).toEqual(["pool-1"]);
  });

  test("reapIdle sleeps only running instances idle longer than sleepAfterMs with no session", async () => {
    let now = 1_000_000;
    const driver = new FakeDriver({ startDelayMs: 0 });
    const registry = new InstanceRegistry({ driver, clock: () => now });
    (await registry.get("idle-one").acquire()).release();
    const held = await registry.get("held").acquire();
    (await registry.get("busy").acquire()).release();
    registry.get("never-started");

    now += 60_000;
    registry.get("busy").touch();
    now += 1;
    expect(await registry.reapIdle(30_000)).toBe(1);
    expect(registry.get("idle-one").stateName).toBe("sleeping");
    expect(registry.get("held").stateName).toBe("running");
    expect(registry.get("busy").stateName).toBe("running");
    expect(registry.get("never-started").stateName).toBe("idle");

    held.release();
    now += 60_000;
    expect(await registry.reapIdle(30_000)).toBe(2);
    expect(driver.running.size).toBe(0);
  });

  test("shutdown stops every instance and closes the driver", async () => {
    const driver = new FakeDriver({ startDelayMs: 0 });
    const registry = new InstanceRegistry({ driver });
    await registry.get("a").acquire();
    await registry.get("b").acquire();
    await registry.shutdown();
    expect(driver.running.size).toBe(0);
    expect(registry.list().every((instance) => instance.stateName === "sleeping")).toBe(true);
  });
});
