import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestClient } from "../test/client.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { pollUntil } from "../test/wait.ts";

/** Prometheus text exposition -> `name{labels}` -> value (labels as written, sorted by prom-client's order). */
function parseProm(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ ROUTING_MODE: "session", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
});
afterAll(() => gw?.stop());

async function echoSession(sessionId: string, bytes: number): Promise<void> {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=${sessionId}`);
  await client.next("Metadata", 15_000);
  client.send(new Uint8Array(bytes));
  await client.until(() => client.binary.length === 1, 5000, "the echo");
  client.send({ type: "CloseStream" });
  expect((await client.closed).code).toBe(1000);
}

test("/metrics counts known traffic under conventional names, with no session id in any label", async () => {
  await echoSession("metrics-secret-a", 100);
  await echoSession("metrics-secret-b", 50);
  const refused = await fetch(`${gw.httpUrl}/v1/listen`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  expect(refused.status).toBe(400);
  await Bun.sleep(50);

  const response = await fetch(`${gw.httpUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const text = await response.text();
  const m = parseProm(text);
  const closeStream = '{"type":"CloseStream"}'.length;

  expect(m.get('transcribe_edge_sessions_total{mode="session"}')).toBe(2);
  expect(m.get('transcribe_edge_session_closes_total{code="1000"}')).toBe(2);
  expect(m.get("transcribe_edge_session_duration_seconds_count")).toBe(2);
  expect(m.get('transcribe_edge_session_wait_seconds_count{start="cold"}')).toBe(2);
  expect(m.get('transcribe_edge_rejections_total{reason="session_required"}')).toBe(1);
  expect(m.get('transcribe_edge_routing_decisions_total{mode="session"}')).toBe(2);
  expect(m.get('transcribe_edge_routing_decision_duration_seconds_count{mode="session"}')).toBe(2);
  expect(m.get('transcribe_edge_routing_decision_duration_seconds_bucket{le="0.001",mode="session"}')).toBe(2);
  expect(m.get("transcribe_edge_cold_start_duration_seconds_count")).toBe(2);
  expect(m.get("transcribe_edge_cold_start_duration_seconds_sum")).toBeGreaterThan(0);
  expect(m.get("transcribe_edge_wake_duration_seconds_count")).toBe(0);
  expect(m.get('transcribe_edge_relayed_bytes_total{direction="in"}')).toBe(150 + 2 * closeStream);
  expect(m.get('transcribe_edge_relayed_bytes_total{direction="out"}')).toBe(150);
  expect(m.get("transcribe_edge_open_sessions")).toBe(0);
  expect(m.get('transcribe_edge_instances{state="running"}')).toBe(2);
  expect(m.get('transcribe_edge_instances{state="failed"}')).toBe(0);
  expect(m.get("transcribe_edge_draining")).toBe(0);
  // prom-client's default process metrics, under their conventional names.
  expect(m.get("process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(m.has("process_resident_memory_bytes")).toBe(true);

  expect(text).not.toContain("metrics-secret");
  expect(text).not.toMatch(/session-[0-9a-f]{16}/);
  for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE transcribe_edge_"))) {
    const [, , name, type] = line.split(" ");
    if (type === "counter") expect(name).toEndWith("_total");
    if (type === "histogram") expect(name).toEndWith("_seconds");
  }
});

test("bytes of a session still open are counted as they flow, and stay counted once it ends", async () => {
  const before = parseProm(await (await fetch(`${gw.httpUrl}/metrics`)).text()).get('transcribe_edge_relayed_bytes_total{direction="in"}')!;
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=metrics-open`);
  await client.next("Metadata", 15_000);
  client.send(new Uint8Array(1000));
  await client.until(() => client.binary.length === 1, 5000, "the echo");
  const during = parseProm(await (await fetch(`${gw.httpUrl}/metrics`)).text());
  expect(during.get('transcribe_edge_relayed_bytes_total{direction="in"}')).toBe(before + 1000);
  expect(during.get("transcribe_edge_open_sessions")).toBe(1);
  client.send({ type: "CloseStream" });
  await client.closed;
  await Bun.sleep(20);
  const after = parseProm(await (await fetch(`${gw.httpUrl}/metrics`)).text());
  expect(after.get('transcribe_edge_relayed_bytes_total{direction="in"}')).toBe(before + 1000 + '{"type":"CloseStream"}'.length);
});

test("/metrics shows the transcribers refusing new sessions and the busiest machine's CPU share", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=metrics-load`);
  const metadata = await client.next("Metadata", 15_000);
  const loads = gw.gateway.state.loads;
  await pollUntil(() => loads.busiestMachine() !== undefined, "a load report with the machine's figure", 5_000, 50);
  const read = async () => parseProm(await (await fetch(`${gw.httpUrl}/metrics`)).text());
  const samples = await read();
  expect(samples.get("transcribe_edge_transcribers_refusing_sessions")).toBe(0);
  const busy = samples.get("transcribe_edge_machine_cpu_busy_max")!;
  expect(busy).toBeGreaterThanOrEqual(0);
  expect(busy).toBeLessThanOrEqual(1);
  // A report that says it cannot keep up; the gateway's next poll replaces it (within a second, maybe while this
  // reads), so it is filed again for each read.
  let refusing: number | undefined;
  for (let attempt = 0; attempt < 3 && refusing !== 1; attempt++) {
    loads.note(metadata.container, { load: { eventLoopLagMs: 400, cpuShare: 0.99, accepting: false } });
    refusing = (await read()).get("transcribe_edge_transcribers_refusing_sessions");
  }
  expect(refusing).toBe(1);
  client.send({ type: "CloseStream" });
  expect((await client.closed).code).toBe(1000);
});

test("/metrics needs the admin token when one is set", async () => {
  gw.gateway.reload({ ...gw.env, ADMIN_TOKEN: "metrics-admin-token" });
  try {
    expect((await fetch(`${gw.httpUrl}/metrics`)).status).toBe(401);
    const ok = await fetch(`${gw.httpUrl}/metrics`, { headers: { authorization: "Bearer metrics-admin-token" } });
    expect(ok.status).toBe(200);
  } finally {
    gw.gateway.reload(gw.env);
  }
});
