/** A client that never reads must not make the gateway's memory grow: it is closed at the backpressure limit. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { clientFrame, connectNonReading } from "../../test/raw-ws.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    BACKPRESSURE_LIMIT_BYTES: String(1024 * 1024),
  });
});
afterAll(() => gw.stop());

test("a client that never reads is closed with 1008 at the limit while another session keeps echoing", async () => {
  const healthy = TestClient.connect(`${gw.listenUrl}?sessionId=healthy`);
  await healthy.next("Metadata", 15_000);
  const stuck = await connectNonReading(`${gw.listenUrl}?sessionId=stuck`);
  await Bun.sleep(300); // the session is relayed once its upstream is open
  const frame = clientFrame(new Uint8Array(60_000));
  const rssBefore = process.memoryUsage.rss();
  let offered = 0;
  for (let i = 0; i < 1500 && !((gw.gateway.state.closeCodes["1008"] ?? 0) > 0); i++) {
    stuck.write(frame);
    offered += 60_000;
    if (i % 20 === 0) await Bun.sleep(5);
  }
  for (let i = 0; i < 200 && !((gw.gateway.state.closeCodes["1008"] ?? 0) > 0); i++) await Bun.sleep(10);
  const growthMiB = (process.memoryUsage.rss() - rssBefore) / 2 ** 20;
  console.log(
    `[slow client] closed 1008 after ${(offered / 2 ** 20).toFixed(1)} MiB offered; test-process RSS grew ${growthMiB.toFixed(1)} MiB`,
  );
  expect(gw.gateway.state.closeCodes["1008"]).toBe(1);
  stuck.destroy();

  const echo = new Uint8Array([1, 2, 3, 4]);
  healthy.send(echo);
  await healthy.until(() => healthy.binary.length === 1, 5000, "the echo");
  expect(healthy.binary[0]).toEqual(echo);
  healthy.send({ type: "CloseStream" });
  expect((await healthy.closed).code).toBe(1000);
  const stats = await gw.stats();
  expect(stats.totals.openSessions).toBe(0);
  expect(stats.instances[0].connections).toBe(0);
}, 60_000);
