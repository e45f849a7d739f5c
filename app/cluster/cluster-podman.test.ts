/**
 * The cluster on the real engine: three gateways in this process, each with its own Podman driver, Redis store,
 * directory and registry, sharing one Podman and one real redis-server. Racing starts make one container; a
 * session through another gateway is relayed by the container a peer made; a gateway joining the running
 * cluster sweeps nothing; one gateway's shutdown leaves the container serving the others; the last one's
 * shutdown leaves no container behind.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { LABEL_FENCE, LABEL_REPLICA } from "../../runtime/driver.ts";
import { ensureImage } from "../../runtime/image-build.ts";
import { PodmanDriver } from "../../runtime/podman-driver.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { containersOf, podman } from "../../test/podman.ts";
import { redisServerPath, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { upkeepPass } from "../lifecycle/upkeep.ts";
import { startClusterGateways } from "./test-gateways.ts";

const QUERY = "encoding=linear16&sample_rate=16000&channels=1";

let redis: TestRedis;
beforeAll(async () => {
  if (!engine || !redisServerPath) return;
  await ensureImage({ log: (line) => console.log(line) });
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const podmanDriver = (_id: string, clusterName: string) => new PodmanDriver({ engine: engine!, gatewayName: clusterName });

/** Sends one binary frame through `client` and waits for the echo transcriber to send it back. */
async function echoes(client: TestClient, marker: number): Promise<void> {
  const frame = new Uint8Array(320).fill(marker);
  client.send(frame);
  await client.until(() => client.binary.some((b) => b[0] === marker && b.length === 320), 10_000, `the echo of frame ${marker}`);
}

engineTest(
  "three gateways on Podman: one container for racing starts, served through every gateway, kept when a gateway joins or leaves",
  async () => {
    if (!redisServerPath) throw new Error("redis-server is needed (test/redis.ts installs Debian's)");
    const cluster = await startClusterGateways(redis.url, 3, { driver: podmanDriver, env: { ROUTING_MODE: "session" } });
    const [a] = cluster.gateways as [any];
    let joiner: Awaited<ReturnType<typeof startClusterGateways>> | undefined;
    try {
      const id = a.gateway.state.selector.route({ sessionId: "podman-user" }).instanceId as string;
      const leases = await Promise.all(cluster.gateways.flatMap((g) => [1, 2, 3].map(() => g.gateway.state.registry.get(id).acquire())));
      const names = await containersOf(cluster.cluster);
      expect(names.length).toBe(1);
      expect(new Set(leases.map((lease) => lease.containerId)).size).toBe(1);
      const record = a.member.directory.get(id)!;
      const labels = JSON.parse(await podman("inspect", "--format", "{{json .Config.Labels}}", names[0]!));
      expect([labels[LABEL_FENCE], labels[LABEL_REPLICA]]).toEqual([record.fence, record.owner]);
      for (const lease of leases) lease.release();

      // A session through a gateway that did not make the container is relayed by it: warm, and echoed.
      const notOwner = cluster.gateways.find((g) => g.id !== record.owner)!;
      const client = TestClient.connect(`${notOwner.listenUrl}?sessionId=podman-user&${QUERY}`);
      const metadata = await client.next("Metadata", 20_000);
      expect([metadata.container, metadata.start]).toEqual([id, "warm"]);
      await echoes(client, 7);

      // A fourth gateway joins the running cluster: it sweeps nothing.
      joiner = await startClusterGateways(redis.url, 1, {
        driver: podmanDriver,
        clusterName: cluster.cluster,
        first: 3,
        env: { ROUTING_MODE: "session" },
      });
      expect(await containersOf(cluster.cluster, { running: true })).toEqual(names);

      // The gateway that made it shuts down: the container keeps serving the session through its peer.
      const owner = cluster.gateways.find((g) => g.id === record.owner)!;
      await owner.gateway.shutdown();
      owner.killed = true;
      expect(await containersOf(cluster.cluster, { running: true })).toEqual(names);
      await echoes(client, 9);
      client.send({ type: "CloseStream" });
      expect((await client.closed).code).toBe(1000);
    } finally {
      await cluster.stop();
      await joiner?.stop();
    }
    expect(await containersOf(cluster.cluster)).toEqual([]);
  },
  120_000,
);

engineTest(
  "on Podman: a dead gateway's container is adopted (its crash still reaches the peer's session: 1012) and its half-made one removed",
  async () => {
    if (!redisServerPath) throw new Error("redis-server is needed (test/redis.ts installs Debian's)");
    const cluster = await startClusterGateways(redis.url, 3, { driver: podmanDriver, env: { ROUTING_MODE: "session" } });
    try {
      const leader = cluster.leader()!;
      const [dead, peer] = cluster.gateways.filter((g) => g !== leader) as [any, any];
      const id = dead.gateway.state.selector.route({ sessionId: "adopt-me" }).instanceId as string;
      (await dead.gateway.state.registry.get(id).acquire()).release();
      const client = TestClient.connect(`${peer.listenUrl}?sessionId=adopt-me&${QUERY}`);
      expect((await client.next("Metadata", 20_000)).start).toBe("warm");
      await echoes(client, 3);
      // The dead gateway had also claimed another instance and made its container, but never completed the start.
      const claim = await dead.member.directory.claim("session-halfmade00000000", 20, 30_000);
      if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
      const innerOfDead = podmanDriver(dead.id, cluster.cluster);
      const made = await innerOfDead.start({
        instanceId: "session-halfmade00000000",
        env: { TRANSCRIBER_BACKEND: "echo" },
        labels: { [LABEL_FENCE]: claim.record.fence, [LABEL_REPLICA]: dead.id },
      });
      await dead.kill();
      await pollUntil(async () => !(await leader.member.liveGateways()).has(dead.id), "the dead gateway's presence to expire", 5000, 50);
      await upkeepPass(leader.gateway.state);
      expect(leader.member.directory.get(id)?.owner).toBe(leader.id);
      expect(await containersOf(cluster.cluster, { running: true })).toHaveLength(1);
      expect((await podman("ps", "-a", "--filter", `id=${made.id}`, "--format", "{{.ID}}")).trim()).toBe("");
      // The adopter watches the container now: killed from outside, its record goes and the peer's session gets 1012.
      const name = (await containersOf(cluster.cluster, { running: true }))[0]!;
      await podman("kill", name);
      expect((await client.closed).code).toBe(1012);
      await pollUntil(() => peer.member.directory.get(id) === undefined, "the record to be released", 5000, 50);
    } finally {
      await cluster.stop();
    }
    expect(await containersOf(cluster.cluster)).toEqual([]);
  },
  120_000,
);
