/**
 * ROUTING_STORE=redis end to end: two real gateway processes (process driver, echo transcribers) with one
 * GATEWAY_NAME share one real redis-server. Pool and session ids land on the same instance through either
 * gateway, each gateway's /stats lists both gateways from their heartbeats and counts the other's sessions, and
 * a REDIS_URL nobody answers stops a gateway at start with one line naming it.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { freePort } from "../../runtime/free-port.ts";
import { TestClient } from "../../test/client.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";
import { type GatewayProcess, spawnGateway } from "../faults/gateway-process.ts";
import { isAlive } from "../../runtime/process-driver.ts";

const QUERY = "encoding=linear16&sample_rate=16000&channels=1";

let redis: TestRedis;
beforeAll(async () => {
  if (redisServerPath) redis = await startRedis();
});
afterAll(() => redis?.stop());

/** Two gateways of one cluster named `name`, as gw-a and gw-b. */
async function pair(name: string, env: Record<string, string>): Promise<[GatewayProcess, GatewayProcess]> {
  const common = {
    ROUTING_STORE: "redis",
    REDIS_URL: redis.url,
    GATEWAY_NAME: name,
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    ...env,
  };
  return Promise.all([spawnGateway({ ...common, GATEWAY_ID: "gw-a" }), spawnGateway({ ...common, GATEWAY_ID: "gw-b" })]);
}

async function stopAll(gateways: GatewayProcess[]): Promise<void> {
  for (const gateway of gateways) gateway.kill("SIGTERM");
  expect(await Promise.all(gateways.map((g) => g.exited))).toEqual(gateways.map(() => 0));
}

/** The instance a session with `sessionId` gets through `gateway` (its Metadata's container), left open. */
async function open(gateway: GatewayProcess, sessionId: string): Promise<{ client: TestClient; container: string }> {
  const client = TestClient.connect(`${gateway.listenUrl}?sessionId=${sessionId}&${QUERY}`);
  const metadata = await client.next("Metadata", 20_000);
  return { client, container: metadata.container as string };
}

redisTest(
  "pool: each session id gets the same member through either gateway; both gateways list both and count each other's sessions",
  async () => {
    const gateways = await pair("cluster-pool", { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "4" });
    const [a, b] = gateways;
    try {
      await pollUntil(
        async () => {
          const ids = await Promise.all(
            gateways.map(async (g) =>
              ((await g.stats()).gateways as Array<{ id: string }>)
                .map((x) => x.id)
                .sort()
                .join(),
            ),
          );
          return ids.every((list) => list === "gw-a,gw-b");
        },
        "both gateways to see both heartbeats",
        5000,
        50,
      );
      // A gateway registers before it listens; its address arrives with its next heartbeat.
      const peerAddress = async () => (await b.stats()).gateways.find((g: { id: string }) => g.id === "gw-a")?.address;
      await pollUntil(async () => (await peerAddress()) !== null, "gw-a's address to reach gw-b", 3000, 50);
      expect(await peerAddress()).toBe(`127.0.0.1:${a.port}`);
      const stats = await b.stats();
      expect(stats.store).toEqual({ kind: "redis", available: true });
      expect(stats.gateway).toBe("gw-b");

      const ids = ["alice", "bob", "carol", "dave", "erin", "frank"];
      const throughA = await Promise.all(ids.map((id) => open(a, id)));
      // While they are open on gw-a, gw-b's routing counts them: coordinator and gateways[] are cluster-wide.
      await pollUntil(async () => (await b.stats()).coordinator.totalSessions === ids.length, "gw-b to count gw-a's sessions", 3000, 20);
      const seenByB = await b.stats();
      expect(seenByB.gateways.map((g: { id: string; sessions: number }) => [g.id, g.sessions]).sort()).toEqual([
        ["gw-a", 6],
        ["gw-b", 0],
      ]);
      const throughB = await Promise.all(ids.map((id) => open(b, id)));
      expect(throughB.map((s) => s.container)).toEqual(throughA.map((s) => s.container));
      expect(new Set(throughA.map((s) => s.container)).size).toBeGreaterThan(1); // the ids really spread over members
      await pollUntil(async () => (await a.stats()).coordinator.totalSessions === 12, "gw-a to count all 12 sessions", 3000, 20);

      for (const session of [...throughA, ...throughB]) session.client.send({ type: "CloseStream" });
      await Promise.all([...throughA, ...throughB].map((s) => s.client.closed));
      for (const gateway of gateways) {
        await pollUntil(async () => (await gateway.stats()).coordinator.totalSessions === 0, "every close to reach both counts", 3000, 20);
      }
    } finally {
      await stopAll(gateways);
    }
  },
  60_000,
);

redisTest(
  "session: a reconnect through the other gateway lands on the same session instance",
  async () => {
    const gateways = await pair("cluster-session", { ROUTING_MODE: "session", MAX_INSTANCES: "10" });
    const [a, b] = gateways;
    try {
      const first = await open(a, "user-42");
      expect(first.container).toMatch(/^session-[0-9a-f]{16}$/);
      // The old socket still open while the client reconnects elsewhere: gw-b finds the holder in the shared store.
      const again = await open(b, "user-42");
      expect(again.container).toBe(first.container);
      first.client.send({ type: "CloseStream" });
      await first.client.closed;
      const later = await open(a, "user-42");
      expect(later.container).toBe(first.container);
      for (const s of [again, later]) s.client.send({ type: "CloseStream" });
      await Promise.all([again.client.closed, later.client.closed]);
    } finally {
      await stopAll(gateways);
    }
  },
  60_000,
);

redisTest(
  "the gateway that made a container is SIGKILLed: the other serves it warm, and as the last gateway its SIGTERM stops it",
  async () => {
    const gateways = await pair("cluster-kill", { ROUTING_MODE: "session", MAX_INSTANCES: "10" });
    const [a, b] = gateways;
    try {
      const first = await open(a, "kill-me");
      first.client.send({ type: "CloseStream" });
      await first.client.closed;
      const made = (await a.stats()).instances.find((i: { id: string }) => i.id === first.container);
      expect(made.containerId).toMatch(/^pid:\d+$/);
      a.kill("SIGKILL");
      // Not `exited`: that waits for its stderr, which the transcriber it leaves behind still holds.
      await pollUntil(() => !isAlive(a.pid), "gw-a to die", 5000, 20);
      // Its transcriber outlives it; the peer joins it warm through the shared directory.
      const again = TestClient.connect(`${b.listenUrl}?sessionId=kill-me&${QUERY}`);
      const metadata = await again.next("Metadata", 20_000);
      expect([metadata.container, metadata.start]).toEqual([first.container, "warm"]);
      again.send({ type: "CloseStream" });
      await again.closed;
      await pollUntil(async () => (await b.stats()).gateways.length === 1, "the dead gateway to leave gw-b's view", 5000, 50);
      b.kill("SIGTERM");
      expect(await b.exited).toBe(0);
      const pid = Number(made.containerId.slice(4));
      await pollUntil(() => !isAlive(pid), "the last gateway's shutdown to stop the dead one's transcriber", 5000, 50);
    } finally {
      for (const gateway of gateways) gateway.kill("SIGKILL");
    }
  },
  60_000,
);

redisTest(
  "a REDIS_URL nobody answers stops the gateway at start with one line naming it",
  async () => {
    const port = await freePort();
    const child = Bun.spawn([process.execPath, "app/main.ts"], {
      cwd: `${import.meta.dir}/../..`,
      env: {
        PATH: process.env.PATH ?? "",
        PORT: "0",
        HOST: "127.0.0.1",
        CONTAINER_DRIVER: "process",
        TRANSCRIBER_BACKEND: "echo",
        ROUTING_STORE: "redis",
        REDIS_URL: `redis://:pw@127.0.0.1:${port}/0`,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^configuration error: REDIS_URL: cannot reach redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0: `));
  },
  30_000,
);
