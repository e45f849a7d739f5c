/**
 * Three gateways of one cluster (ROUTING_STORE=redis, one GATEWAY_NAME) over the same three engine hosts:
 * each gateway places with the counts every host reports for the whole cluster, so sessions opened through
 * different gateways still spread 3/3/3, and every gateway's /stats shows the same hosts. (Cross-gateway
 * single-flight of one instance is the cluster layer's, not the placement's, and is not tested here.)
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { EngineHostsHarness, engineHostsSkipReason } from "../../test/engine-hosts.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { redisServerPath, redisTest, startRedis, type TestRedis } from "../../test/redis.ts";
import { ensureImage } from "../image-build.ts";
import { PROBE_TIMEOUT_MS } from "./engine-host.ts";

let hosts: EngineHostsHarness | undefined;
let redis: TestRedis | undefined;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  if (engineHostsSkipReason || !redisServerPath) return;
  await ensureImage();
  [hosts, redis] = await Promise.all([EngineHostsHarness.start(["h1", "h2", "h3"]), startRedis()]);
}, 300_000);

afterAll(async () => {
  for (const gw of gateways.splice(0)) await gw.stop();
  await hosts?.stop();
  await redis?.stop();
}, 120_000);

/** Time for every gateway's next host check to have listed what the others started. */
const CHECK_SETTLE_MS = 1000 + 2 * PROBE_TIMEOUT_MS;

redisTest(
  "sessions through three gateways spread 3/3/3 over three hosts and fill their =3 limits: each gateway counts the others' containers",
  async () => {
    if (engineHostsSkipReason) throw new Error(`the engine-hosts harness cannot run: ${engineHostsSkipReason}`);
    const h = hosts!;
    const name = `hosts-cluster-${crypto.randomUUID().slice(0, 6)}`;
    for (const id of ["gw-a", "gw-b", "gw-c"]) {
      gateways.push(
        await startTestGateway({
          ROUTING_MODE: "session",
          CONTAINER_NETWORK: "host",
          TRANSCRIBER_BACKEND: "echo",
          ROUTING_STORE: "redis",
          REDIS_URL: redis!.url,
          GATEWAY_NAME: name,
          GATEWAY_ID: id,
          ENGINE_HOSTS: h.engineHostsValue({ h1: 3, h2: 3, h3: 3 }),
        }),
      );
    }
    const clients: TestClient[] = [];
    const placed: string[] = [];
    // One session at a time, round-robin over the gateways: a gateway alone would see every host empty.
    for (let i = 0; i < 9; i++) {
      const gw = gateways[i % 3]!;
      const client = TestClient.connect(`${gw.listenUrl}?sessionId=cluster-${i}`);
      const metadata = await client.next("Metadata", 30_000);
      clients.push(client);
      const stats = await gw.stats();
      placed.push(stats.instances.find((x: { id: string }) => x.id === metadata.container).host);
      await Bun.sleep(CHECK_SETTLE_MS);
    }
    const counts: Record<string, number> = {};
    for (const host of placed) counts[host] = (counts[host] ?? 0) + 1;
    expect(counts).toEqual({ h1: 3, h2: 3, h3: 3 });
    for (const gw of gateways) {
      const view = (await gw.stats()).hosts.map((x: { name: string; running: number }) => [x.name, x.running]);
      expect(view).toEqual([
        ["h1", 3],
        ["h2", 3],
        ["h3", 3],
      ]);
    }
    // Each gateway holds three of the nine: only the others' counts tell it every host is at its limit.
    const refused = await fetch(`${gateways[0]!.httpUrl}/v1/listen?sessionId=cluster-9`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain("every engine host is at its limit (h1 3/3, h2 3/3, h3 3/3)");
    for (const client of clients) client.ws.close();
    for (const gw of gateways.splice(0)) await gw.stop();
    for (const host of ["h1", "h2", "h3"]) expect(await h.containers(host)).toEqual([]);
  },
  180_000,
);
