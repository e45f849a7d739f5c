/**
 * SIGHUP reload with sessions open: in process through Gateway.reload (what the SIGHUP handler calls), and once
 * through a real SIGHUP to `bun app/main.ts`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { Notifier } from "../../test/wait.ts";

/** Polls `condition` (every 200 ms) until it holds. */
const waitUntil = (condition: () => boolean, timeoutMs: number, what: string) =>
  new Notifier(() => "not yet").until(condition, timeoutMs, what);

let gw: TestGateway;
let baseEnv: Record<string, string>;
beforeAll(async () => {
  const env = { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "3", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" };
  gw = await startTestGateway(env);
  baseEnv = gw.env;
});
afterAll(() => gw?.stop());

/** A session id the running pool routes to `member`. */
function idFor(member: string): string {
  for (let i = 0; ; i++) {
    const decision = gw.gateway.state.selector.route({ sessionId: `reload-${i}` });
    if (decision.ok && decision.instanceId === member) return `reload-${i}`;
  }
}

async function open(sessionId: string): Promise<TestClient> {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=${sessionId}`);
  await client.next("Metadata", 15_000);
  return client;
}

async function echoes(client: TestClient): Promise<void> {
  const before = client.binary.length;
  client.send(new Uint8Array(7));
  await client.until(() => client.binary.length === before + 1, 5000, "the echo");
}

test("shrinking the pool keeps open sessions; the removed member takes nothing new and sleeps when its last session ends", async () => {
  const onRemoved = await open(idFor("pool-2"));
  const onKept = await open(idFor("pool-0"));
  const movedId = idFor("pool-2");

  const result = gw.gateway.reload({ ...baseEnv, CONTAINER_POOL_SIZE: "2", SLEEP_AFTER: "1h", ROUTING_MODE: "session", PORT: "9999" });
  expect(result).toEqual({ ok: true, changed: ["CONTAINER_POOL_SIZE", "SLEEP_AFTER"], ignored: ["ROUTING_MODE", "PORT"] });
  const { config, selector, registry } = gw.gateway.state;
  expect([config.containerPoolSize, config.sleepAfterMs, config.routingMode, selector.mode]).toEqual([2, 3_600_000, "pool", "pool"]);
  expect(gw.logs.some((l) => l.msg === "configuration reloaded: CONTAINER_POOL_SIZE, SLEEP_AFTER")).toBe(true);
  expect(gw.logs.some((l) => l.level === 40 && l.msg.includes("ignored ROUTING_MODE, PORT"))).toBe(true);

  // Both sessions go on, on the instances they had.
  await echoes(onRemoved);
  await echoes(onKept);
  expect(registry.get("pool-2").stateName).toBe("running");
  const moved = await open(movedId);
  expect(moved.json[0]!.container).not.toBe("pool-2");

  onRemoved.send({ type: "CloseStream" });
  expect((await onRemoved.closed).code).toBe(1000);
  await waitUntil(() => registry.get("pool-2").stateName === "sleeping", 5000, "pool-2 asleep");
  for (const client of [onKept, moved]) {
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
  }
  // Every close reached the routing store the new strategy routes with: nothing counted twice or leaked.
  await waitUntil(() => selector.coordinatorView().totalSessions === 0, 2000, "no session left in the store");
  expect(gw.gateway.state.selector.coordinatorView().totalSessions).toBe(0);
});

test("a bad value keeps the running configuration and logs one line", async () => {
  const before = { ...gw.gateway.state.config };
  const result = gw.gateway.reload({ ...baseEnv, CONTAINER_POOL_SIZE: "4", SLEEP_AFTER: "soon" });
  expect(result).toEqual({ ok: false, error: "SLEEP_AFTER: expected a duration such as 30s, 5m or 1h (got 'soon')" });
  expect(gw.gateway.state.config).toEqual(before);
  const line = gw.logs.at(-1)!;
  expect(line).toMatchObject({
    level: 50,
    msg: "configuration reload failed, keeping the running configuration: SLEEP_AFTER: expected a duration such as 30s, 5m or 1h (got 'soon')",
  });
});

test("SIGHUP to `bun app/main.ts` re-reads CONFIG_FILE without dropping the open session", async () => {
  const dir = mkdtempSync(join(tmpdir(), "te-reload-"));
  const file = join(dir, "gateway.env");
  writeFileSync(file, "CONTAINER_POOL_SIZE=1\nSLEEP_AFTER=10m\n");
  const child = Bun.spawn([process.execPath, "app/main.ts"], {
    cwd: join(import.meta.dir, "../.."),
    env: {
      PATH: process.env.PATH ?? "",
      CONFIG_FILE: file,
      PORT: "0",
      HOST: "127.0.0.1",
      CONTAINER_DRIVER: "process",
      TRANSCRIBER_BACKEND: "echo",
      GATEWAY_NAME: `reload-${process.pid}`,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Array<Record<string, any>> = [];
  void (async () => {
    let buffer = "";
    for await (const chunk of child.stdout as unknown as AsyncIterable<Uint8Array>) {
      buffer += new TextDecoder().decode(chunk);
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) if (part.startsWith("{")) lines.push(JSON.parse(part));
    }
  })();
  try {
    await waitUntil(() => lines.some((l) => l.msg === "gateway listening"), 15_000, "the gateway to listen");
    const port = lines.find((l) => l.msg === "gateway listening")!.port;
    const stats = async () => (await fetch(`http://127.0.0.1:${port}/stats`)).json();
    const client = TestClient.connect(`ws://127.0.0.1:${port}/v1/listen?sessionId=kept`);
    expect((await client.next("Metadata", 15_000)).container).toBe("pool-0");

    writeFileSync(file, "CONTAINER_POOL_SIZE=3\nSLEEP_AFTER=10m\n");
    child.kill("SIGHUP");
    await waitUntil(() => lines.some((l) => l.msg === "configuration reloaded: CONTAINER_POOL_SIZE"), 5000, "the reload line");
    expect((await stats()).config.containerPoolSize).toBe(3);
    await echoes(client);

    writeFileSync(file, "CONTAINER_POOL_SIZE=many\n");
    child.kill("SIGHUP");
    await waitUntil(() => lines.some((l) => l.msg?.startsWith("configuration reload failed")), 5000, "the failure line");
    expect((await stats()).config.containerPoolSize).toBe(3);
    await echoes(client);
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);

    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  } finally {
    child.kill("SIGKILL");
  }
}, 60_000);

test("a generated GATEWAY_ID survives a reload: it is not generated again, nor reported as changed", () => {
  const before = gw.gateway.config.gatewayId;
  expect(gw.env.GATEWAY_ID).toBeUndefined();
  gw.gateway.reload(baseEnv); // back to the environment it started with (earlier cases changed some keys)
  const result = gw.gateway.reload({ ...baseEnv, LOG_LEVEL: "warn" });
  expect(result).toEqual({ ok: true, changed: ["LOG_LEVEL"], ignored: [] });
  expect(gw.gateway.config.gatewayId).toBe(before);
  gw.gateway.reload(baseEnv);
});
