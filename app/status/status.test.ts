import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { SnapshotReader } from "../../test/snapshot-reader.ts";
import { StatusHub } from "./hub.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
});
afterAll(() => gw?.stop());

test("the page is one self-contained document with the live hooks and the snapshot embedded", async () => {
  const response = await fetch(`${gw.httpUrl}/`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const html = await response.text();
  expect(html).not.toMatch(/<link|<img|\ssrc=|url\(/);
  for (const hook of [
    'id="instances"',
    'id="feed"',
    'id="chart-sessions"',
    'id="chart-starts"',
    'data-total="openSessions"',
    'id="config"',
    'id="gateways"',
    'id="store-unavailable"',
    'new EventSource("/status/events")',
  ]) {
    expect(html).toContain(hook);
  }
  const embedded = /<script type="application\/json" id="initial-snapshot">(.*?)<\/script>/s.exec(html)![1]!;
  const snapshot = JSON.parse(embedded);
  expect(snapshot).toMatchObject({ mode: "pool", config: { containerPoolSize: 2 }, store: { kind: "memory", available: true } });
  expect(snapshot.gateways).toEqual([{ id: snapshot.gateway, sessions: 0, lastSeenMs: 0, address: `127.0.0.1:${gw.port}` }]);
});

test("the event stream pushes a fresh snapshot as a session opens and closes", async () => {
  const stream = new SnapshotReader(await fetch(`${gw.httpUrl}/status/events`));
  expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  await stream.until((s) => s.totals.openSessions === 0);
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=status-live`);
  const metadata = await client.next("Metadata", 15_000);
  const open = await stream.until((s) =>
    s.instances.some((i) => i.id === metadata.container && i.state === "running" && i.connections === 1),
  );
  expect(open.totals.openSessions).toBe(1);
  const started = await stream.until((s) => s.feed.some((e) => e.kind === "started"));
  expect(started.feed[0]).toMatchObject({ kind: "started", instanceId: metadata.container });
  expect(started.series.starts).toContainEqual(expect.objectContaining({ kind: "cold", instanceId: metadata.container }));
  client.send({ type: "CloseStream" });
  await client.closed;
  const closed = await stream.until((s) => s.totals.openSessions === 0 && s.totals.sessions === 1);
  expect(closed.series.sessions.some((p) => p.open === 1)).toBe(true);
  await stream.close();
});

test("a burst of events is coalesced into few pushes", async () => {
  const hub = new StatusHub(gw.gateway.state, { minIntervalMs: 200, heartbeatMs: 60_000 });
  const response = hub.connect(new Request("http://x/status/events"));
  const stream = new SnapshotReader(response);
  await stream.until(() => true);
  for (let i = 0; i < 100; i++) gw.gateway.state.events.emit({ type: "rejected", reason: "burst", status: 503 });
  await Bun.sleep(500);
  // The first snapshot at connect, then the burst in at most two (one at once, one trailing).
  expect(stream.snapshots.length).toBeGreaterThanOrEqual(2);
  expect(stream.snapshots.length).toBeLessThanOrEqual(3);
  expect(stream.snapshots.at(-1)!.feed.filter((e) => e.kind === "rejected").length).toBe(50); // the ring's size
  hub.close();
  await stream.close();
});

test("event-stream clients are bounded: one too many gets 503", async () => {
  const hub = new StatusHub(gw.gateway.state, { maxClients: 1 });
  const first = hub.connect(new Request("http://x/status/events"));
  expect(first.status).toBe(200);
  expect(hub.connect(new Request("http://x/status/events")).status).toBe(503);
  hub.close();
  expect(hub.clientCount).toBe(0);
});
