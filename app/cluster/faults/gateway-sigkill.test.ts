/**
 * A clustered gateway SIGKILLed, on the real engine (three gateways, one Redis, HAProxy in front, echo
 * transcribers). With open sessions: its own sessions drop, the others' go on without losing a frame, its
 * counts leave every /stats within 3 s, the containers it started keep serving the others, and its clients
 * reconnect through HAProxy to the same members, warm. With a start in flight: nothing it left is orphaned
 * past detection plus one upkeep interval, and the instance starts (once) when the next session asks.
 */
import { beforeAll, expect } from "bun:test";
import { countsSettleProblems } from "../../../test/cluster/counts.ts";
import { EchoSession } from "../../../test/cluster/echo-session.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";
import { pollUntil } from "../../../test/wait.ts";

beforeAll(prepareImage, 300_000);

/** A dead gateway's sessions leave the counts within this (the contract's bound). */
const COUNTS_GONE_MS = 3000;
/** What the Podman driver gives a container to stop before it is killed (runtime/podman-driver.ts). */
const DRIVER_STOP_MS = 2000;

clusterTest(
  "SIGKILL with open sessions: its sessions drop, the others' go on, its counts go within 3 s, its containers keep serving, reconnects through HAProxy land warm",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2", SLEEP_AFTER: "30s" } });
    try {
      const [a, b, c] = cluster.ids.map((id) => cluster.gateway(id));
      const ids = ["k1", "k2", "k3", "k4"];
      // gw-a starts the members; gw-b and gw-c then hold sessions on the containers gw-a started.
      const victims = ids.map((id) => new EchoSession(a!.listenUrl, id));
      await Promise.all(victims.map((s) => s.start()));
      const members = await Promise.all(victims.map(async (s) => (await s.metadata()).container as string));
      const survivors = [
        new EchoSession(b!.listenUrl, "k1"),
        new EchoSession(b!.listenUrl, "k2"),
        new EchoSession(c!.listenUrl, "k3"),
        new EchoSession(c!.listenUrl, "k4"),
      ];
      await Promise.all(survivors.map((s) => s.start()));
      await Promise.all([...victims, ...survivors].map((s) => s.flowing(3)));
      const before = (await cluster.containers({ running: true })).map((x) => x.id).sort();
      expect(before).toHaveLength(new Set(members).size);

      const killedAt = performance.now();
      await cluster.sigkill("gw-a");
      const dropped = await Promise.all(victims.map((s) => s.closedByServer(5000)));
      expect(dropped.map((o) => o.code)).toEqual(victims.map(() => 1006));
      await Promise.all(survivors.map((s) => s.flowing(10)));
      const countProblems = await countsSettleProblems(cluster, { "gw-b": 2, "gw-c": 2 }, COUNTS_GONE_MS - (performance.now() - killedAt));
      const goneMs = performance.now() - killedAt;
      expect((await cluster.containers({ running: true })).map((x) => x.id).sort()).toEqual(before);

      // Its clients come back through the load balancer, which now only has the two others.
      const back = ids.map((id) => new EchoSession(cluster.listenUrl, id));
      const metadata = await Promise.all(back.map((s) => s.metadata()));
      expect(metadata.map((m) => [m.container, m.start])).toEqual(members.map((m) => [m, "warm"]));
      expect(metadata.every((m) => m.gateway === "gw-b" || m.gateway === "gw-c")).toBe(true);
      await Promise.all(back.map((s) => s.start()));
      await Promise.all(back.map((s) => s.flowing(3)));
      const counts =
        countProblems.length === 0 ? `matched ${goneMs.toFixed(0)} ms after the kill` : `still off ${goneMs.toFixed(0)} ms after it`;
      console.log(`[sigkill] counts without gw-a ${counts}; ${before.length} containers kept serving`);

      const outcomes = await Promise.all([...survivors, ...back].map((s) => s.finish()));
      expect(outcomes.filter((o) => o.code !== 1000 || o.echoed !== o.sent || o.outOfOrder)).toEqual([]);
      expect((await cluster.containers({ running: true })).map((x) => x.id).sort()).toEqual(before);
      expect(countProblems).toEqual([]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);

clusterTest(
  "SIGKILL with a start in flight: no orphan after detection plus one upkeep interval; the next session starts the instance once",
  async () => {
    // SLEEP_AFTER 10 s: upkeep every second.
    const upkeepMs = 1000;
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "session", MAX_INSTANCES: "4", SLEEP_AFTER: "10s" } });
    try {
      const first = new EchoSession(cluster.gateway("gw-a").listenUrl, "in-flight");
      // The container exists on the engine but is not healthy yet: gw-a's start is in flight.
      await pollUntil(async () => (await cluster.containers()).length > 0, "gw-a's container to be created", 15_000, 5);
      const inFlightAtKill = first.client.ofType("Metadata").length === 0;
      await cluster.sigkill("gw-a");
      expect(inFlightAtKill).toBe(true);
      expect((await first.closedByServer(5000)).code).toBe(1006);
      const killedAt = performance.now();

      // Whatever gw-a left is either taken over or removed once its death is known and one upkeep pass ran (the
      // removal itself includes the driver's graceful stop); by then at most one container may exist for it.
      await Bun.sleep(COUNTS_GONE_MS + upkeepMs + DRIVER_STOP_MS + 500 - (performance.now() - killedAt));
      const left = await cluster.containers();
      expect(left.filter((x) => !x.running)).toEqual([]);
      expect(left.length).toBeLessThanOrEqual(1);

      const next = new EchoSession(cluster.gateway("gw-b").listenUrl, "in-flight");
      await next.start();
      await next.flowing(3);
      const now = await cluster.containers();
      // One container serves the id: the one gw-a had begun (taken over) or a fresh start, never both.
      expect(now.map((x) => [x.instance, x.running])).toEqual([[(await next.metadata()).container, true]]);
      if (left.length === 1) expect(now[0]!.id).toBe(left[0]!.id);
      console.log(
        `[sigkill in flight] ${left.length === 1 ? "gw-a's container was taken over" : "gw-a's container was removed; the next session started one"}`,
      );
      expect((await next.finish()).code).toBe(1000);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
