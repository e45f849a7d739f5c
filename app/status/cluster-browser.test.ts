/**
 * The status page of a clustered gateway in Debian's chromium: two real gateway processes on one real
 * redis-server. The page served by gw-a lists both gateways and marks gw-a as the one serving it, shows each
 * instance's sessions by gateway, says "store unavailable" while Redis is killed and stops saying it once Redis
 * is back (empty), all without a reload and without a CSP violation. DOM hooks: app/status/page.ts.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { TestClient } from "../../test/client.ts";
import { browserTests, cspViolations, launchChromium, type LaunchedBrowser } from "../../test/chromium.ts";
import { redisServerPath, startRedis, type TestRedis } from "../../test/redis.ts";
import { type GatewayProcess, spawnGateway } from "../faults/gateway-process.ts";

const browserTest = await browserTests();
const QUERY = "encoding=linear16&sample_rate=16000&channels=1";

let redis: TestRedis | undefined;
let gateways: GatewayProcess[] = [];
let browser: LaunchedBrowser | undefined;
const clients: TestClient[] = [];

beforeAll(async () => {
  if (!redisServerPath) return;
  redis = await startRedis();
  const common = {
    ROUTING_STORE: "redis",
    REDIS_URL: redis.url,
    GATEWAY_NAME: `status-cluster-${process.pid}`,
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "1",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
  };
  gateways = await Promise.all([spawnGateway({ ...common, GATEWAY_ID: "gw-a" }), spawnGateway({ ...common, GATEWAY_ID: "gw-b" })]);
});

afterAll(async () => {
  for (const client of clients) client.ws.close();
  await browser?.close();
  for (const gateway of gateways) gateway.kill("SIGTERM");
  await Promise.all(gateways.map((g) => g.exited));
  await redis?.stop();
});

async function open(gateway: GatewayProcess, sessionId: string): Promise<TestClient> {
  const client = TestClient.connect(`${gateway.listenUrl}?sessionId=${sessionId}&${QUERY}`);
  clients.push(client);
  await client.next("Metadata", 20_000);
  return client;
}

const waitFor = (page: Page, fn: () => boolean) => page.waitForFunction(fn, undefined, { timeout: 15_000 });

browserTest(
  "a clustered gateway's page: both gateways with the serving one marked, sessions by gateway, store unavailable while Redis is away",
  async () => {
    if (!redis) throw new Error("this test needs a redis-server (test/redis.ts could not start one)");
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${a.httpUrl}/`);
    await page.waitForSelector("body[data-live=live]", { timeout: 15_000 });
    expect(await page.textContent("#gateway")).toBe("gw-a");
    expect(await page.textContent("#store-kind")).toBe("redis");
    expect(await page.isHidden("#store-unavailable")).toBe(true);

    // One pool member: a session through each gateway lands on pool-0, counted under each one's id.
    await open(a, "page-1");
    await open(b, "page-2");
    await open(b, "page-3");
    await waitFor(page, () => document.querySelectorAll("#gateways tbody tr[data-gateway-id]").length === 2);
    await waitFor(
      page,
      () => document.querySelector('#instances tr[data-instance-id="pool-0"] td[data-field=byGateway]')?.textContent === "gw-a 1, gw-b 2",
    );
    expect(await page.textContent('#instances tr[data-instance-id="pool-0"] td[data-field=connections]')).toBe("3");
    const rows = await page.$$eval("#gateways tbody tr", (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute("data-gateway-id"),
        self: tr.getAttribute("data-self"),
        sessions: tr.querySelector("[data-field=sessions]")?.textContent,
        address: tr.querySelector("[data-field=address]")?.textContent,
        mark: tr.querySelector(".self-mark")?.textContent ?? null,
      })),
    );
    expect(rows.sort((x, y) => x.id!.localeCompare(y.id!))).toEqual([
      { id: "gw-a", self: "true", sessions: "1", address: `127.0.0.1:${a.port}`, mark: "this page" },
      { id: "gw-b", self: "false", sessions: "2", address: `127.0.0.1:${b.port}`, mark: null },
    ]);

    await redis.kill();
    await page.waitForSelector("#store-unavailable:not([hidden])", { timeout: 10_000 });
    expect(await page.getAttribute("body", "data-store")).toBe("unavailable");
    await redis.restart();
    await page.waitForSelector("#store-unavailable[hidden]", { state: "attached", timeout: 15_000 });
    expect(await page.getAttribute("body", "data-store")).toBe("available");
    expect(violations).toEqual([]);
  },
  90_000,
);
