/**
 * Each routing mode on the real engine (echo transcribers on host networking): how many containers the engine
 * runs for a given load, affinity, idle sleep and wake, capacity refusals and warm spares. Every gateway is
 * stopped at the end of its test and must leave no container behind.
 */
import { afterEach, beforeAll, describe, expect } from "bun:test";
import { ensureImage } from "../runtime/image-build.ts";
import { TestClient } from "../test/client.ts";
import { engine, engineTest } from "../test/engine.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { containersOf, runningInstanceIds } from "../test/podman.ts";

const open: TestGateway[] = [];
async function gateway(env: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway({ CONTAINER_DRIVER: "podman", CONTAINER_NETWORK: "host", TRANSCRIBER_BACKEND: "echo", ...env });
  open.push(gw);
  return gw;
}

afterEach(async () => {
  for (const gw of open.splice(0)) {
    await gw.stop();
    expect(await containersOf(gw.gateway.config.gatewayName)).toEqual([]);
  }
});

beforeAll(async () => {
  if (engine) await ensureImage();
}, 300_000);

/** Opens sessions and waits for each one's Metadata. */
async function connectAll(gw: TestGateway, ids: string[]): Promise<Map<string, TestClient>> {
  const clients = new Map(ids.map((id) => [id, TestClient.connect(`${gw.listenUrl}?sessionId=${id}`)] as const));
  await Promise.all([...clients.values()].map((c) => c.next("Metadata", 20_000)));
  return clients;
}

async function closeAll(clients: Iterable<TestClient>): Promise<void> {
  const list = [...clients];
  for (const c of list) c.send({ type: "CloseStream" });
  const codes = await Promise.all(list.map(async (c) => (await c.closed).code));
  expect(codes.every((code) => code === 1000)).toBe(true);
}

const containerOf = (client: TestClient) => client.ofType("Metadata")[0]!.container as string;

/** Waits until `probe` returns what `accept` wants, polling; returns the last value. */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!accept(value) && Date.now() < deadline) {
    await Bun.sleep(100);
    value = await probe();
  }
  return value;
}

async function refusalOf(gw: TestGateway, sessionId: string): Promise<Response> {
  return fetch(`${gw.httpUrl}/v1/listen?sessionId=${sessionId}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
}

describe("routing modes on the real engine", () => {
  engineTest(
    "pool: 100 sessions use exactly CONTAINER_POOL_SIZE containers and an id always reaches the same one",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "5" });
      const ids = Array.from({ length: 100 }, (_, i) => `pool-user-${i}`);
      const first = await connectAll(gw, ids);
      const placement = new Map([...first].map(([id, c]) => [id, containerOf(c)]));
      expect(new Set(placement.values())).toEqual(new Set(["pool-0", "pool-1", "pool-2", "pool-3", "pool-4"]));
      expect(await containersOf(gw.gateway.config.gatewayName, { running: true })).toHaveLength(5);
      const stats = await gw.stats();
      expect(stats.totals.openSessions).toBe(100);
      expect(stats.instances.reduce((sum: number, i: any) => sum + i.connections, 0)).toBe(100);
      await closeAll(first.values());

      const again = await connectAll(gw, ids.slice(0, 30));
      for (const [id, client] of again) {
        expect(containerOf(client)).toBe(placement.get(id)!);
        expect(client.ofType("Metadata")[0]!.start).toBe("warm");
      }
      await closeAll(again.values());
      expect(gw.logs.some((l) => l.msg === "Using dispatcher for sessionId: pool-user-7, container: " + placement.get("pool-user-7"))).toBe(
        true,
      );
    },
    90_000,
  );

  engineTest(
    "session: 5 sessions use 5 containers and a reconnect is warm on the same one",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "session" });
      const ids = ["alice", "bob", "carol", "dave", "erin"];
      const clients = await connectAll(gw, ids);
      const containers = new Set([...clients.values()].map(containerOf));
      expect(containers.size).toBe(5);
      for (const c of containers) expect(c).toMatch(/^session-[0-9a-f]{16}$/);
      expect(await containersOf(gw.gateway.config.gatewayName, { running: true })).toHaveLength(5);
      const aliceContainer = containerOf(clients.get("alice")!);
      await closeAll([clients.get("alice")!]);

      const back = await connectAll(gw, ["alice"]);
      const metadata = back.get("alice")!.ofType("Metadata")[0]!;
      expect(metadata).toMatchObject({ container: aliceContainer, start: "warm" });
      await closeAll([...back.values(), ...ids.slice(1).map((id) => clients.get(id)!)]);
    },
    90_000,
  );

  engineTest(
    "shared: 20 sessions use one container",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "shared" });
      const clients = await connectAll(
        gw,
        Array.from({ length: 20 }, (_, i) => `shared-${i}`),
      );
      expect(new Set([...clients.values()].map(containerOf))).toEqual(new Set(["shared"]));
      expect(await containersOf(gw.gateway.config.gatewayName, { running: true })).toHaveLength(1);
      await closeAll(clients.values());
    },
    60_000,
  );

  engineTest(
    "autoscale: 5 sessions at 2 per container run 3 containers, then scale back to the minimum of 1",
    async () => {
      const gw = await gateway({
        ROUTING_MODE: "autoscale",
        MAX_CONNECTIONS_PER_CONTAINER: "2",
        MIN_CONTAINERS: "1",
        SCALE_DOWN_AFTER: "2s",
      });
      const name = gw.gateway.config.gatewayName;
      expect(
        await eventually(
          () => runningInstanceIds(name),
          (c) => c.length === 1,
          10_000,
        ),
      ).toEqual(["auto-0"]);
      const clients = await connectAll(gw, ["a1", "a2", "a3", "a4", "a5"]);
      const perContainer = new Map<string, number>();
      for (const c of clients.values()) perContainer.set(containerOf(c), (perContainer.get(containerOf(c)) ?? 0) + 1);
      expect([...perContainer.values()].sort()).toEqual([1, 2, 2]);
      expect(await runningInstanceIds(name)).toEqual(["auto-0", "auto-1", "auto-2"]);
      const coordinator = (await gw.stats()).coordinator;
      expect(coordinator.totalSessions).toBe(5);

      await closeAll(clients.values());
      const after = await eventually(
        () => runningInstanceIds(name),
        (c) => c.length === 1,
        10_000,
      );
      expect(after).toEqual(["auto-0"]);
      const stats = await gw.stats();
      expect(stats.instances.filter((i: any) => i.state === "running").map((i: any) => i.id)).toEqual(["auto-0"]);
    },
    90_000,
  );

  engineTest(
    "SLEEP_AFTER: an idle instance sleeps and the next session wakes it; an open silent session keeps it up",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "shared", SLEEP_AFTER: "2s" });
      const name = gw.gateway.config.gatewayName;
      await closeAll((await connectAll(gw, ["first"])).values());
      const slept = await eventually(
        () => containersOf(name, { running: true }),
        (c) => c.length === 0,
        8_000,
      );
      expect(slept).toEqual([]);
      // The engine shows it stopped before its removal completes; then /stats says sleeping.
      const state = await eventually(
        async () => (await gw.stats()).instances[0].state,
        (s) => s === "sleeping",
        5_000,
      );
      expect(state).toBe("sleeping");
      expect(gw.logs.some((l) => l.msg === "Transcriber container stopped" && l.reason === "idle")).toBe(true);

      const woken = await connectAll(gw, ["second"]);
      const silent = woken.get("second")!;
      expect(silent.ofType("Metadata")[0]!.start).toBe("wake");
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(1000);
        silent.send({ type: "KeepAlive" });
      }
      // Three times SLEEP_AFTER later the instance still runs, because a session is open on it.
      expect(await containersOf(name, { running: true })).toHaveLength(1);
      expect((await gw.stats()).instances[0]).toMatchObject({ state: "running", connections: 1, wakes: 1, coldStarts: 1 });
      await closeAll([silent]);
    },
    60_000,
  );

  engineTest(
    "session with MAX_INSTANCES=2: a third session gets 503 + Retry-After until one ends and sleeps",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "session", MAX_INSTANCES: "2", SLEEP_AFTER: "2s" });
      const clients = await connectAll(gw, ["one", "two"]);
      const refused = await refusalOf(gw, "three");
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await gw.stats()).totals.rejections.capacity).toBe(1);

      await closeAll([clients.get("one")!]);
      const admitted = await eventually(
        async () => {
          const probe = TestClient.connect(`${gw.listenUrl}?sessionId=three`);
          const outcome = await Promise.race([probe.next("Metadata", 20_000).then(() => "open"), probe.closed.then(() => "refused")]);
          return { probe, outcome };
        },
        ({ outcome }) => outcome === "open",
        15_000,
      );
      expect(admitted.outcome).toBe("open");
      expect(await containersOf(gw.gateway.config.gatewayName, { running: true })).toHaveLength(2);
      await closeAll([admitted.probe, clients.get("two")!]);
    },
    60_000,
  );

  engineTest(
    "WARM_SPARES=1: a new session starts warm on the spare while a replacement spare starts behind it",
    async () => {
      const gw = await gateway({ ROUTING_MODE: "session", WARM_SPARES: "1" });
      const name = gw.gateway.config.gatewayName;
      await eventually(
        () => gw.stats(),
        (s) => s.instances.some((i: any) => i.state === "running"),
        10_000,
      );
      const clients = await connectAll(gw, ["newcomer"]);
      const metadata = clients.get("newcomer")!.ofType("Metadata")[0]!;
      expect(metadata.start).toBe("warm");
      expect(metadata.wait_ms).toBeLessThan(100);
      const running = await eventually(
        () => containersOf(name, { running: true }),
        (c) => c.length === 2,
        10_000,
      );
      expect(running).toHaveLength(2);
      await closeAll(clients.values());
    },
    60_000,
  );
});
