/**
 * deploy/cluster/haproxy.cfg as it ships (only its listening address, server ports and runtime socket moved to
 * free ones), with Debian's HAProxy in front of two real gateway processes of one cluster on a real
 * redis-server: consecutive connects reach different replicas (roundrobin), servers with no replica are checked
 * out of the way, a replica drained through the runtime API takes no new session while its open one goes on,
 * and a replica that stops is taken out by the /readyz check while the other serves every new session.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type GatewayProcess, spawnGateway } from "../../app/faults/gateway-process.ts";
import { ensureHaproxy } from "../../bench/haproxy.ts";
import { freePort } from "../../runtime/free-port.ts";
import { TestClient } from "../../test/client.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { pollUntil } from "../../test/wait.ts";

const QUERY = "encoding=linear16&sample_rate=16000&channels=1";
const dir = mkdtempSync(join(tmpdir(), "te-proxy-"));
let redis: TestRedis | undefined;
let gateways: GatewayProcess[] = [];
let haproxy: Subprocess | undefined;
let proxyPort = 0;
const adminSocket = join(dir, "admin.sock");

/** The shipped config with `bind :8080`, the server addresses and the runtime socket moved here. */
function testConfig(ports: number[], unused: number[]): string {
  let next = 0;
  return readFileSync(join(import.meta.dir, "haproxy.cfg"), "utf8")
    .replace(/^(\s*bind) :8080$/m, `$1 127.0.0.1:${proxyPort}`)
    .replace(/^(\s*stats socket) \S+/m, `$1 ${adminSocket}`)
    .replace(/^(\s*server gw-\d+) 127\.0\.0\.1:\d+$/gm, (_, server) => {
      const port = next < ports.length ? ports[next] : unused[next - ports.length];
      next++;
      return `${server} 127.0.0.1:${port}`;
    });
}

/** One runtime API command (what `socat stdio unix-connect:admin.sock` does), its answer. */
async function runtimeApi(command: string): Promise<string> {
  let answer = "";
  await new Promise<void>((resolve, reject) => {
    void Bun.connect({
      unix: adminSocket,
      socket: {
        open: (socket) => void socket.write(`${command}\n`),
        data: (_socket, chunk) => void (answer += Buffer.from(chunk).toString()),
        close: () => resolve(),
        error: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
  return answer;
}

/** Server name -> status (UP, DOWN, DRAIN, ...) from `show stat`. */
async function serverStates(): Promise<Record<string, string>> {
  const lines = (await runtimeApi("show stat")).split("\n");
  const header = lines[0]!.replace(/^# /, "").split(",");
  const at = (name: string) => header.indexOf(name);
  return Object.fromEntries(
    lines
      .slice(1)
      .map((line) => line.split(","))
      .filter((cells) => cells[at("pxname")] === "gateways" && cells[at("svname")]!.startsWith("gw-"))
      .map((cells) => [cells[at("svname")], cells[at("status")]]),
  );
}

const proxied = () => `ws://127.0.0.1:${proxyPort}/v1/listen`;
const gatewayOf = async () => (await (await fetch(`http://127.0.0.1:${proxyPort}/stats`)).json()).gateway as string;

beforeAll(async () => {
  if (!redisServerPath) return;
  redis = await startRedis();
  const common = {
    ROUTING_STORE: "redis",
    REDIS_URL: redis.url,
    GATEWAY_NAME: `proxy-${process.pid}`,
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "2",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
  };
  gateways = await Promise.all([spawnGateway({ ...common, GATEWAY_ID: "gw-1" }), spawnGateway({ ...common, GATEWAY_ID: "gw-2" })]);
  const binary = await ensureHaproxy((line) => console.log(line));
  proxyPort = await freePort();
  const unused = await Promise.all([1, 2, 3, 4].map(() => freePort()));
  const file = join(dir, "haproxy.cfg");
  writeFileSync(
    file,
    testConfig(
      gateways.map((g) => g.port),
      unused,
    ),
  );
  haproxy = Bun.spawn([binary, "-db", "-f", file], { stdout: "ignore", stderr: "pipe" });
});

afterAll(async () => {
  haproxy?.kill("SIGTERM");
  await haproxy?.exited;
  for (const gateway of gateways) gateway.kill("SIGTERM");
  await Promise.all(gateways.map((g) => g.exited));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

redisTest(
  "the shipped haproxy.cfg spreads connects over the replicas, drains one on request and drops one that stops",
  async () => {
    const [first] = gateways as [GatewayProcess, GatewayProcess];
    await pollUntil(
      async () => {
        if (haproxy!.exitCode !== null) throw new Error(`haproxy exited: ${await new Response(haproxy!.stderr as ReadableStream).text()}`);
        const states = await serverStates().catch(() => ({}) as Record<string, string>);
        return states["gw-1"] === "UP" && states["gw-2"] === "UP" && ["gw-3", "gw-4", "gw-5", "gw-6"].every((s) => states[s] === "DOWN");
      },
      "gw-1 and gw-2 UP, the servers with no replica DOWN",
      10_000,
      100,
    );
    // Roundrobin: consecutive requests alternate between the two replicas.
    const answered = [];
    for (let i = 0; i < 6; i++) answered.push(await gatewayOf());
    expect(new Set(answered)).toEqual(new Set(["gw-1", "gw-2"]));
    for (let i = 1; i < answered.length; i++) expect(answered[i]).not.toBe(answered[i - 1]);

    // A session through the proxy says which replica it reached; the open one on gw-2 outlives a drain of gw-2.
    let onSecond: TestClient | undefined;
    for (let i = 0; i < 4 && !onSecond; i++) {
      const client = TestClient.connect(`${proxied()}?sessionId=drain-${i}&${QUERY}`);
      const metadata = await client.next("Metadata", 20_000);
      if (metadata.gateway === "gw-2") onSecond = client;
      else client.ws.close();
    }
    expect(onSecond).toBeDefined();
    expect((await runtimeApi("set server gateways/gw-2 state drain")).trim()).toBe("");
    expect((await serverStates())["gw-2"]).toBe("DRAIN");
    for (let i = 0; i < 4; i++) expect(await gatewayOf()).toBe("gw-1");
    // The echo transcriber sends the frame back: the drained replica's session still works.
    onSecond!.ws.send(new Uint8Array([1, 2, 3, 4]));
    await pollUntil(() => onSecond!.binary.length > 0, "the echo through the drained replica", 5_000);
    expect(onSecond!.binary[0]).toEqual(new Uint8Array([1, 2, 3, 4]));
    await runtimeApi("set server gateways/gw-2 state ready");
    onSecond!.ws.close();

    // gw-1 stops: its /readyz fails, HAProxy takes it out, and every new session goes to gw-2.
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    await pollUntil(async () => (await serverStates())["gw-1"] === "DOWN", "gw-1 DOWN after its checks fail", 10_000, 100);
    for (let i = 0; i < 4; i++) {
      const client = TestClient.connect(`${proxied()}?sessionId=after-${i}&${QUERY}`);
      expect((await client.next("Metadata", 20_000)).gateway).toBe("gw-2");
      client.ws.close();
    }
  },
  90_000,
);
