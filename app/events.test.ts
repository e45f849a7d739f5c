import { afterAll, beforeAll, expect, test } from "bun:test";
import type { GatewayEvent } from "./events.ts";
import { TestClient } from "../test/client.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";

let gw: TestGateway;
const events: GatewayEvent[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ ROUTING_MODE: "session", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
  gw.gateway.state.events.on((event) => events.push(event));
});
afterAll(() => gw.stop());

test("a session's life is announced as events: routed, instance starting and running, opened, closed", async () => {
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=evented`);
  const metadata = await client.next("Metadata", 15_000);
  client.send(new Uint8Array(10));
  await client.until(() => client.binary.length === 1, 5000, "the echo");
  client.send({ type: "CloseStream" });
  await client.closed;
  await Bun.sleep(20);
  const types = events.map((e) => (e.type === "instance" ? `instance:${e.to}` : e.type));
  expect(types).toEqual(["routed", "instance:starting", "instance:running", "session_opened", "session_closed"]);
  const running = events.find((e) => e.type === "instance" && e.to === "running");
  expect(running).toMatchObject({ instanceId: metadata.container, start: { kind: "cold" } });
  const closed = events.at(-1)!;
  expect(closed).toMatchObject({
    type: "session_closed",
    sessionId: "evented",
    code: 1000,
    bytesIn: 10 + '{"type":"CloseStream"}'.length,
    bytesOut: 10,
  });
});

test("a refusal is announced with its reason and status", async () => {
  const response = await fetch(`${gw.httpUrl}/v1/listen`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  expect(response.status).toBe(400);
  expect(events.at(-1)).toEqual({ type: "rejected", reason: "session_required", status: 400 });
});
