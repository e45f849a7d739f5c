import { afterAll, describe, expect, test } from "bun:test";
import { InstanceRegistry } from "./instances.ts";
import { ProcessDriver } from "./process-driver.ts";

/** The lifecycle over a real driver: transcriber subprocesses instead of the fake. */
describe("Instance over the process driver", () => {
  const registry = new InstanceRegistry({
    driver: new ProcessDriver({ stdio: "ignore" }),
    env: () => ({ TRANSCRIBER_BACKEND: "echo" }),
  });
  afterAll(() => registry.shutdown());

  test("a killed transcriber fails the instance, tells the lease, and the next acquire wakes a new one", async () => {
    const instance = registry.get("pool-0");
    const lease = await instance.acquire();
    expect(lease.start).toBe("cold");
    expect((await fetch(`http://${instance.endpoint}/health`)).status).toBe(200);
    const crashed = new Promise<string>((resolve) => lease.onCrash((info) => resolve(info.reason)));
    process.kill(Number(lease.containerId.slice("pid:".length)), "SIGKILL");
    expect(await crashed).toContain("SIGKILL");
    expect(instance.stateName).toBe("failed");
    lease.release();

    const next = await instance.acquire();
    expect(next.start).toBe("wake");
    expect(next.containerId).not.toBe(lease.containerId);
    next.release();
    expect(instance.connections).toBe(0);
  });

  test("sleep then acquire wakes it on a new endpoint", async () => {
    const instance = registry.get("pool-1");
    (await instance.acquire()).release();
    const before = instance.endpoint;
    await instance.sleep();
    expect(instance.stateName).toBe("sleeping");
    const lease = await instance.acquire();
    expect(lease.start).toBe("wake");
    expect(instance.endpoint).not.toBe(before);
    lease.release();
  });
});
