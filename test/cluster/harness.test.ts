/**
 * The cluster harness itself, on the real engine: a gateway SIGKILLed and restarted comes back on its own port
 * behind the proxy, Redis restarts on its port with a new process, and stop() leaves no process it started and
 * no container of the cluster.
 */
import { beforeAll, expect } from "bun:test";
import { pollUntil } from "../wait.ts";
import { EchoSession } from "./echo-session.ts";
import { clusterTest, prepareImage } from "./fault-test.ts";
import { TestCluster } from "./harness.ts";

beforeAll(prepareImage, 300_000);

/** Whether a process with `pid` exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

clusterTest(
  "restarts keep each part's address, and stop() leaves no process and no container behind",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "shared" } });
    const pids = [cluster.proxy.pid, ...cluster.ids.map((id) => cluster.gateway(id).pid)];
    try {
      expect(cluster.ids).toEqual(["gw-a", "gw-b", "gw-c"]);
      const session = new EchoSession(cluster.listenUrl, "harness");
      await session.start();
      await session.flowing(3);
      expect((await cluster.containers({ running: true })).length).toBeGreaterThan(0);
      expect((await session.finish()).code).toBe(1000);

      const port = cluster.gateway("gw-b").port;
      await cluster.sigkill("gw-b");
      expect(cluster.runningIds).toEqual(["gw-a", "gw-c"]);
      const again = await cluster.restart("gw-b");
      pids.push(again.pid);
      expect(again.port).toBe(port);
      expect((await again.stats()).gateway).toBe("gw-b");
      // Back behind the proxy: round robin reaches it again.
      await pollUntil(
        async () => (await (await fetch(`${cluster.proxy.httpUrl}/stats`)).json()).gateway === "gw-b",
        "the proxy to send a request to the restarted gw-b",
        5000,
        100,
      );

      const redisPid = cluster.redis.pid!;
      await cluster.redis.kill();
      expect(cluster.redis.pid).toBeUndefined();
      await cluster.redis.restart();
      expect(cluster.redis.pid).not.toBe(redisPid);
      pids.push(redisPid, cluster.redis.pid!);
    } finally {
      await cluster.stop();
    }
    expect(pids.filter(alive)).toEqual([]);
    expect(await cluster.containers()).toEqual([]);
  },
  120_000,
);
