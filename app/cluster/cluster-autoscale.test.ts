/**
 * Autoscale's caps hold for the cluster, not per gateway: real WebSocket sessions racing through three
 * in-process gateways (real transcriber subprocesses, echo backend, one real redis-server) never put more than
 * MAX_CONNECTIONS_PER_CONTAINER on an instance nor run more than MAX_INSTANCES; those that do not fit are
 * refused with HTTP 503 before the upgrade.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { ProcessDriver } from "../../runtime/process-driver.ts";
import { TestClient } from "../../test/client.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { startClusterGateways } from "./test-gateways.ts";

const QUERY = "encoding=linear16&sample_rate=16000&channels=1";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

/** The Metadata of a session, or the HTTP status it was refused with (read from a plain request's answer). */
async function outcome(client: TestClient): Promise<{ container: string } | "refused"> {
  const closed = client.closed.then(() => "refused" as const);
  const metadata = client.next("Metadata", 20_000).then((m) => ({ container: m.container as string }));
  return Promise.race([metadata, closed]);
}

redisTest(
  "12 racing sessions over 3 gateways: at most 2 per instance and 2 instances in the cluster; the rest get 503",
  async () => {
    const driver = new ProcessDriver({ stdio: "ignore" });
    const env = { ROUTING_MODE: "autoscale", MAX_CONNECTIONS_PER_CONTAINER: "2", MAX_INSTANCES: "2", MIN_CONTAINERS: "1" };
    const cluster = await startClusterGateways(redis.url, 3, { driver, env });
    try {
      await pollUntil(
        () => cluster.gateways.every((g) => g.member.directory.get("auto-0")?.state === "running"),
        "the minimum to run",
        15_000,
        50,
      );
      const clients = Array.from({ length: 12 }, (_, i) =>
        TestClient.connect(`${cluster.gateways[i % 3]!.listenUrl}?sessionId=racer-${i}&${QUERY}`),
      );
      const outcomes = await Promise.all(clients.map(outcome));
      const placed = outcomes.filter((o) => o !== "refused") as Array<{ container: string }>;
      const perInstance = new Map<string, number>();
      for (const { container } of placed) perInstance.set(container, (perInstance.get(container) ?? 0) + 1);
      expect(Math.max(...perInstance.values())).toBeLessThanOrEqual(2);
      expect(perInstance.size).toBeLessThanOrEqual(2);
      expect(placed.length).toBe(4);
      // Cluster-wide counts agree with the open sockets, seen from any gateway.
      const store = cluster.gateways[0]!.store;
      await pollUntil(() => store.totalLoad() === 4, "the cluster-wide count to equal the open sessions", 3000);
      for (const [id, count] of perInstance) expect(store.load(id)).toBe(count);
      for (const client of clients) client.ws.close();
    } finally {
      await cluster.stop();
      await driver.close();
    }
  },
  60_000,
);

redisTest(
  "a slot a peer frees is taken through a gateway that had seen the instance full (its picks hear peers' counts)",
  async () => {
    const driver = new ProcessDriver({ stdio: "ignore" });
    const env = { ROUTING_MODE: "autoscale", MAX_CONNECTIONS_PER_CONTAINER: "2", MAX_INSTANCES: "1", MIN_CONTAINERS: "1" };
    const cluster = await startClusterGateways(redis.url, 2, { driver, env });
    const [a, b] = cluster.gateways as [(typeof cluster.gateways)[0], (typeof cluster.gateways)[0]];
    const open = (gateway: typeof a, id: string) => TestClient.connect(`${gateway.listenUrl}?sessionId=${id}&${QUERY}`);
    try {
      const first = open(a, "peer-first");
      expect((await outcome(first)) as unknown).toEqual({ container: "auto-0" });
      await pollUntil(() => b.store.load("auto-0") === 1, "b to count a's session", 3000);
      // b's own session fills auto-0: b files it as full.
      const second = open(b, "own-second");
      expect((await outcome(second)) as unknown).toEqual({ container: "auto-0" });
      expect(await outcome(open(b, "one-too-many"))).toBe("refused");
      // a's session leaves: b must see the room a peer made, though its own count there never changed.
      first.send({ type: "CloseStream" });
      await first.closed;
      await pollUntil(() => b.store.load("auto-0") === 1, "b to count a's close", 3000);
      const third = open(b, "after-peer-close");
      expect((await outcome(third)) as unknown).toEqual({ container: "auto-0" });
      for (const client of [second, third]) client.ws.close();
    } finally {
      await cluster.stop();
      await driver.close();
    }
  },
  60_000,
);

redisTest(
  "an instance only a peer has used, with room, takes a session through this gateway instead of a 503",
  async () => {
    const driver = new ProcessDriver({ stdio: "ignore" });
    const env = { ROUTING_MODE: "autoscale", MAX_CONNECTIONS_PER_CONTAINER: "2", MAX_INSTANCES: "2", MIN_CONTAINERS: "1" };
    const cluster = await startClusterGateways(redis.url, 2, { driver, env });
    const [a, b] = cluster.gateways as [(typeof cluster.gateways)[0], (typeof cluster.gateways)[0]];
    const open = (gateway: typeof a, id: string) => TestClient.connect(`${gateway.listenUrl}?sessionId=${id}&${QUERY}`);
    const clients: TestClient[] = [];
    try {
      // a fills auto-0 and starts auto-1 with one session: b has used neither.
      for (const [id, container] of [
        ["a-1", "auto-0"],
        ["a-2", "auto-0"],
        ["a-3", "auto-1"],
      ] as const) {
        const client = open(a, id);
        clients.push(client);
        expect((await outcome(client)) as unknown).toEqual({ container });
      }
      await pollUntil(() => b.store.load("auto-0") === 2 && b.store.load("auto-1") === 1, "b to count a's sessions", 3000);
      const through = open(b, "b-1");
      clients.push(through);
      expect((await outcome(through)) as unknown).toEqual({ container: "auto-1" });
    } finally {
      for (const client of clients) client.ws.close();
      await cluster.stop();
      await driver.close();
    }
  },
  60_000,
);
