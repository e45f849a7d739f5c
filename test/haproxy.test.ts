/**
 * The front proxy the cluster tests use: consecutive requests of one client reach different gateways, a
 * WebSocket passes through it, and a killed gateway is skipped (connects redispatched, then checked out).
 * Three real gateway processes (process driver, echo transcribers) behind a real haproxy.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type GatewayProcess, spawnGateway } from "../app/faults/gateway-process.ts";
import { EchoSession } from "./cluster/echo-session.ts";
import { type FrontProxy, roundRobinConfig, startFrontProxy } from "./haproxy.ts";

const IDS = ["gw-a", "gw-b", "gw-c"];
let gateways: GatewayProcess[] = [];
let proxy: FrontProxy;

beforeAll(async () => {
  gateways = await Promise.all(
    IDS.map((id) => spawnGateway({ GATEWAY_ID: id, ROUTING_MODE: "shared", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" })),
  );
  proxy = await startFrontProxy(
    gateways.map((g, i) => ({ name: IDS[i]!, port: g.port })),
    { checkIntervalMs: 300 },
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  for (const g of gateways) g.kill("SIGTERM");
  await Promise.all(gateways.map((g) => g.exited));
});

/** The GATEWAY_ID that answered one /stats through the proxy. */
async function servedBy(): Promise<string> {
  const response = await fetch(`${proxy.httpUrl}/stats`);
  expect(response.status).toBe(200);
  return (await response.json()).gateway;
}

test("the configuration balances round robin with a tunnel timeout and /readyz checks on every gateway", () => {
  const config = roundRobinConfig(9000, [
    { name: "gw-a", port: 9001 },
    { name: "gw-b", port: 9002 },
  ]);
  expect(config).toContain("balance roundrobin");
  expect(config).toMatch(/timeout tunnel \d+/);
  expect(config).toContain("option httpchk GET /readyz");
  expect(config).toContain("server gw-b 127.0.0.1:9002 check");
  expect(config).toContain("bind 127.0.0.1:9000");
});

test("three consecutive requests through the proxy are answered by three different gateways", async () => {
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) seen.push(await servedBy());
  expect([...seen].sort()).toEqual(IDS);
});

test("a WebSocket session passes through the proxy and every frame comes back", async () => {
  const session = new EchoSession(proxy.listenUrl, "through-proxy");
  await session.start(10);
  await session.flowing(20);
  const outcome = await session.finish();
  expect(outcome.code).toBe(1000);
  expect(outcome.echoed).toBe(outcome.sent);
  expect(outcome.outOfOrder).toBeUndefined();
});

test("a SIGKILLed gateway is skipped: every request still succeeds, served by the two others", async () => {
  // One that started no transcriber: a process-driver child would outlive it holding its output open.
  const idle = await Promise.all(gateways.map(async (g) => (await g.stats()).totals.coldStarts === 0));
  const victimIndex = idle.lastIndexOf(true);
  const victim = gateways[victimIndex]!;
  victim.kill("SIGKILL");
  await victim.exited;
  // At once (before any health check noticed) a connect refused is redispatched; later the check takes it out.
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await servedBy());
  const survivors = IDS.filter((_, i) => i !== victimIndex);
  expect([...seen].sort()).toEqual(survivors);
  await Bun.sleep(1000);
  for (let i = 0; i < 4; i++) seen.add(await servedBy());
  expect([...seen].sort()).toEqual(survivors);
}, 20_000);
