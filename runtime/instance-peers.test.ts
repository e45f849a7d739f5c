/**
 * What an instance does with the facts a cluster driver reports (app/cluster/cluster-driver.ts; the same
 * instances over real peers: app/cluster/cluster-driver.test.ts): a container a peer ran already is joined (warm,
 * no start counted), a container a peer stopped on purpose puts it to sleep (its sessions still hear 1012, no
 * backoff), and a start declined before any container was made is no failed start.
 */
import { describe, expect, test } from "bun:test";
import { type ContainerSpec, type RunningContainer, StartDeclinedError } from "./driver.ts";
import { FakeDriver } from "./fake-driver.ts";
import { Instance } from "./instance.ts";

/** A FakeDriver whose starts can be made to say `joined`, or to be declined. */
class PeerDriver extends FakeDriver {
  joinNext: RunningContainer["joined"] = undefined;
  declineNext = false;
  override async start(spec: ContainerSpec): Promise<RunningContainer> {
    if (this.declineNext) {
      this.declineNext = false;
      throw new StartDeclinedError("the cluster runs MAX_INSTANCES=1 instances; retry later", 5);
    }
    const container = await super.start(spec);
    const joined = this.joinNext;
    if (!joined) return container;
    this.joinNext = undefined;
    return { ...container, joined };
  }
}

describe("Instance in a cluster", () => {
  test("a container a peer already runs is joined: the lease is warm and no cold start is counted", async () => {
    const driver = new PeerDriver();
    driver.joinNext = "running";
    const instance = new Instance({ id: "pool-0", driver });
    const leases = await Promise.all([instance.acquire(), instance.acquire()]);
    expect(leases.map((lease) => lease.start)).toEqual(["warm", "warm"]);
    expect([instance.stateName, instance.coldStarts, instance.wakes]).toEqual(["running", 0, 0]);
  });

  test("a peer's start waited for is the session's cold start, but this instance counts and logs no start", async () => {
    const driver = new PeerDriver();
    driver.joinNext = "starting";
    const lines: string[] = [];
    const logger = { info: (_: object, msg: string) => lines.push(msg), warn: () => {}, error: () => {} };
    const instance = new Instance({ id: "pool-0", driver, logger });
    const lease = await instance.acquire();
    expect(lease.start).toBe("cold");
    expect([instance.stateName, instance.coldStarts, instance.wakes]).toEqual(["running", 0, 0]);
    expect(lines).not.toContain("Transcriber container started");
  });

  test("an expected exit (a peer put it to sleep) sleeps the instance, tells its leases, and sets no backoff", async () => {
    const driver = new PeerDriver();
    const instance = new Instance({ id: "pool-0", driver });
    const lease = await instance.acquire();
    const told: string[] = [];
    lease.onCrash((info) => told.push(info.reason));
    driver.crash(lease.containerId, { exitCode: null, reason: "idle", expected: true });
    await Bun.sleep(0);
    expect([instance.stateName, told, instance.startFailures, instance.startBlockedForMs()]).toEqual(["sleeping", ["idle"], 0, 0]);
    expect((await instance.acquire()).start).toBe("wake");
  });

  test("a crash is still a crash: failed, counted towards the backoff", async () => {
    const driver = new PeerDriver();
    const instance = new Instance({ id: "pool-0", driver });
    const lease = await instance.acquire();
    driver.crash(lease.containerId, { exitCode: 137, reason: "killed" });
    await Bun.sleep(0);
    expect([instance.stateName, instance.startFailures]).toEqual(["failed", 1]);
  });

  test("a declined start rejects its waiters with the typed error and leaves the instance as it was, no backoff", async () => {
    const driver = new PeerDriver();
    driver.declineNext = true;
    const instance = new Instance({ id: "session-1", driver });
    const results = await Promise.allSettled([instance.acquire(), instance.acquire()]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StartDeclinedError);
    }
    expect([instance.stateName, instance.startFailures, instance.connections]).toEqual(["idle", 0, 0]);
    expect((await instance.acquire()).start).toBe("cold");
  });
});
