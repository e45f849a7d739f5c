/**
 * The listen route's own edges. Metadata goes out once a running container holds the session, before the
 * upstream is open; a transcriber that then cannot be reached ends the session with Error + 1013 and releases
 * everything. Requests that are not WebSocket handshakes are refused before anything is routed.
 * A FakeDriver gives instances whose endpoints nobody listens on (the unit-test stand-in for a container that
 * died without the engine saying so yet); e2e-podman.test.ts covers the same route with real containers.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { FakeDriver } from "../../runtime/fake-driver.ts";
import { TestClient } from "../../test/client.ts";
import { loadConfig } from "../config.ts";
import { Gateway } from "../gateway.ts";
import { createLogger } from "../log.ts";

describe("listen route", () => {
  const driver = new FakeDriver();
  const logs: Array<Record<string, any>> = [];
  const gateway = new Gateway(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      ROUTING_MODE: "shared",
      OPENAI_API_KEY: "x",
      GATEWAY_NAME: "meta-test",
      GATEWAY_ID: "gw-meta",
    }),
    { driver, logger: createLogger("info", { write: (line: string) => void logs.push(JSON.parse(line)) }) },
  );
  const started = gateway.start();
  afterAll(() => gateway.shutdown());

  test("a transcriber that refuses after Metadata: Error transcriber_unreachable, close 1013, nothing held", async () => {
    const { port } = await started;
    const client = TestClient.listen(`ws://127.0.0.1:${port}`, "sessionId=early&encoding=opus");
    const metadata = await client.next("Metadata");
    expect(metadata).toMatchObject({ session_id: "early", container: "shared", start: "cold", gateway: "gw-meta" });
    client.send(new Uint8Array(120)); // queued in the relay while it tries the upstream
    const closed = await client.closed;
    expect(closed.code).toBe(1013);
    expect(client.json.map((m) => m.type)).toEqual(["Metadata", "Error"]);
    expect(client.ofType("Error")[0]).toMatchObject({ code: "transcriber_unreachable" });
    // Two attempts: the first refusal makes the instance suspect, which restarts it, then the second refuses.
    expect(driver.starts.length).toBe(2);
    const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
    expect(stats.totals).toMatchObject({ openSessions: 0, connections: 0, sessions: 1 });
    expect(stats.coordinator.totalSessions).toBe(0);
    expect(stats.instances.find((i: any) => i.id === "shared").connections).toBe(0);
  });

  test("a plain GET is 426 and a handshake Bun cannot complete is 400; neither holds a routing slot", async () => {
    const { port } = await started;
    const url = `http://127.0.0.1:${port}/v1/listen?sessionId=plain&encoding=opus`;
    const plain = await fetch(url);
    expect(plain.status).toBe(426);
    expect(await plain.text()).toBe("expected a WebSocket upgrade\n");
    const broken = await fetch(url, { headers: { upgrade: "websocket", connection: "Upgrade" } }); // no key or version
    expect(broken.status).toBe(400);
    expect(await broken.text()).toBe("invalid WebSocket handshake\n");
    const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
    expect(stats.coordinator.totalSessions).toBe(0);
    expect(stats.totals.openSessions).toBe(0);
  });
});
