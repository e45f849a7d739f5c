/**
 * One clustered gateway SIGTERMed while the others serve, on the real engine (three gateways, the realtime
 * stand-in, pool of 2). Its own sessions get their finals, then Error gateway_shutdown and 1001; the sessions
 * other gateways hold on the same containers go on to a clean 1000 with all their finals; the containers keep
 * running (none stopped, none replaced); then the counts match and the cluster, stopped, leaves nothing.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { startStandin, type Standin } from "../../../standin/server.ts";
import { TestClient } from "../../../test/client.ts";
import { countsSettleProblems } from "../../../test/cluster/counts.ts";
import { clusterTest, expectCleanEnd, prepareImage } from "../../../test/cluster/fault-test.ts";
import { TestCluster } from "../../../test/cluster/harness.ts";
import { finals, speechPackets } from "../../../test/scenarios.ts";
import { podman } from "../../../test/podman.ts";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED } from "../../../runtime/driver.ts";
import { DEFAULT_TRANSCRIBER_IMAGE } from "../../../runtime/image.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

let standin: Standin;
beforeAll(async () => {
  await prepareImage();
  standin = await startStandin({ port: 0 });
}, 300_000);
afterAll(() => standin?.close());

clusterTest(
  "SIGTERM of one gateway: its sessions get finals then 1001; the others' sessions on the same containers finish cleanly; no container stops",
  async () => {
    const cluster = await TestCluster.start({
      standin,
      env: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2", SLEEP_AFTER: "30s", DRAIN_TIMEOUT: "8s" },
    });
    try {
      const [a, b, c] = cluster.ids.map((id) => cluster.gateway(id));
      const connect = (url: string, id: string) => TestClient.connect(`${url}?sessionId=${id}&${QUERY}`);
      const leaving = ["t1", "t2", "t3"].map((id) => connect(a!.listenUrl, id));
      await Promise.all(leaving.map((s) => s.next("Metadata", 30_000)));
      const staying = [connect(b!.listenUrl, "t1"), connect(b!.listenUrl, "t2"), connect(c!.listenUrl, "t3")];
      const stayingMetadata = await Promise.all(staying.map((s) => s.next("Metadata", 30_000)));
      expect(stayingMetadata.map((m) => m.container)).toEqual(leaving.map((s) => s.ofType("Metadata")[0]!.container));
      const before = (await cluster.containers({ running: true })).map((x) => x.id).sort();
      expect(before).toHaveLength(new Set(stayingMetadata.map((m) => m.container)).size);

      const [short, long] = await Promise.all([speechPackets(220, 3, 900), speechPackets(300, 4, 900)]);
      const leavingStreams = leaving.map((s) => s.stream(short));
      const stayingStreams = staying.map((s) => s.stream(long));
      await Bun.sleep(2000); // mid-stream: the first turn is over, the second under way
      const code = await cluster.sigterm("gw-a");
      expect(code).toBe(0);
      const leftCloses = await Promise.all(leaving.map((s) => s.closed));
      await Promise.all(leavingStreams);
      expect(leftCloses.map((x) => x.code)).toEqual([1001, 1001, 1001]);
      for (const s of leaving) {
        expect(s.ofType("Error").map((m) => m.code)).toEqual(["gateway_shutdown"]);
        expect(finals(s).length).toBeGreaterThanOrEqual(2);
        const types = s.json.map((m) => m.type);
        expect(types.lastIndexOf("Results")).toBeLessThan(types.indexOf("Error")); // the finals came first
      }
      // gw-a is gone; the containers its peers use were neither stopped nor replaced.
      expect((await cluster.containers({ running: true })).map((x) => x.id).sort()).toEqual(before);

      await Promise.all(stayingStreams);
      const countProblems = await countsSettleProblems(cluster, { "gw-b": 2, "gw-c": 1 });
      for (const s of staying) s.send({ type: "CloseStream" });
      const stayCloses = await Promise.all(staying.map((s) => s.closed));
      console.log(
        `[sigterm] leaving: ${leaving.map((s) => finals(s).length).join(",")} finals then 1001; staying: ${staying.map((s) => finals(s).length).join(",")} finals, closes ${stayCloses.map((x) => x.code).join(",")}`,
      );
      expect(stayCloses.map((x) => x.code)).toEqual([1000, 1000, 1000]);
      for (const s of staying) {
        expect(s.ofType("Error")).toEqual([]);
        expect(finals(s).length).toBeGreaterThanOrEqual(4);
      }
      expect(countProblems).toEqual([]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);

clusterTest(
  "the last gateway out also removes a container no record names (what a killed gateway half made, not yet swept by the leader)",
  async () => {
    const cluster = await TestCluster.start({ env: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2", SLEEP_AFTER: "10m" } });
    try {
      // A container with the cluster's labels that no record names, as a gateway SIGKILLed mid-start leaves one. At
      // SLEEP_AFTER=10m the leader's sweep runs every 30 s, so here only the shutdown can remove it.
      await podman(
        "create",
        "--label",
        `${LABEL_MANAGED}=true`,
        "--label",
        `${LABEL_GATEWAY}=${cluster.name}`,
        "--label",
        `${LABEL_INSTANCE}=pool-7`,
        process.env.TRANSCRIBER_IMAGE ?? DEFAULT_TRANSCRIBER_IMAGE,
      );
      expect((await cluster.containers()).map((c) => c.instance)).toEqual(["pool-7"]);
      await expectCleanEnd(cluster);
    } finally {
      await cluster.stop();
    }
  },
  120_000,
);
