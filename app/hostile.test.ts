/**
 * Hostile input against a real gateway and real transcribers (process driver, real stand-in): each case checks
 * that the gateway survives, leaks nothing and that a bystander session keeps working. Oversized frames, bytes
 * that are not Opus and illegal sessionIds are covered by test/scenarios.ts on both drivers, a client that never
 * reads by app/session/slow-client.test.ts, a connection burst by app/burst.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { TestClient } from "../test/client.ts";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { finals, speechPackets } from "../test/scenarios.ts";
import { tryUpgrade } from "./faults/gateway-process.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/** Sends raw bytes on a fresh TCP connection; resolves with the status line (or "closed") and how long it took. */
function rawRequest(port: number, bytes: string): Promise<{ status: string; ms: number }> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    let status = "closed";
    socket.once("data", (data) => (status = data.toString("latin1").split("\r\n")[0]!));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve({ status, ms: performance.now() - startedAt }));
    setTimeout(() => socket.destroy(), 30_000);
  });
}

describe("hostile input", () => {
  let gw: TestGateway;
  let bystander: TestClient;
  beforeAll(async () => {
    gw = await startTestGateway(
      {
        ROUTING_MODE: "shared",
        CONTAINER_DRIVER: "process",
        BACKPRESSURE_LIMIT_BYTES: String(256 * 1024),
      },
      { standin: true },
    );
    bystander = TestClient.connect(`${gw.listenUrl}?sessionId=bystander&${QUERY}`);
    await bystander.next("Metadata", 30_000);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
  });

  /** The bystander still gets a final for a turn of speech, and nothing it did not cause. */
  async function bystanderUnaffected(): Promise<void> {
    const before = finals(bystander).length;
    await bystander.stream(await speechPackets(300, 1, 600), 2, { sleepEach: true });
    bystander.send({ type: "Finalize" });
    await bystander.until(() => finals(bystander).length > before, 15_000, "the bystander's final");
    expect(bystander.ofType("Error")).toEqual([]);
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  }

  test("malformed, oversized and unknown JSON control messages get an Error each; the stream goes on", async () => {
    const client = TestClient.connect(`${gw.listenUrl}?sessionId=json&${QUERY}`);
    await client.next("Metadata", 30_000);
    const bad = [
      "{",
      '{"type":"Bogus"}',
      "[]",
      "null",
      "42",
      '"text"',
      '{"type":{"nested":true}}',
      JSON.stringify({ type: "KeepAlive", pad: "x".repeat(20_000) }),
    ];
    for (const message of bad) client.send(message);
    await client.waitFor((m) => m.type === "Error" && m.code === "bad_message", bad.length, 10_000);
    await client.stream(await speechPackets(220, 1, 600), 2, { sleepEach: true });
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    expect(finals(client).length).toBeGreaterThanOrEqual(1);
    await bystanderUnaffected();
  }, 60_000);

  test("a 100 KB query string and a header flood are refused (431) without harm", async () => {
    const big = await rawRequest(
      gw.port,
      `GET /v1/listen?sessionId=a&pad=${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    );
    const headers = Array.from({ length: 10_000 }, (_, i) => `X-Flood-${i}: ${"v".repeat(20)}\r\n`).join("");
    const flood = await rawRequest(gw.port, `GET /v1/listen?sessionId=b HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    console.log(`[hostile] 100 KB query: ${big.status}; 10,000-header flood: ${flood.status}`);
    expect(big.status).toContain("431");
    expect(flood.status).toContain("431");
    await bystanderUnaffected();
  }, 60_000);

  test("bad query parameters get 400 with one line naming the parameter", async () => {
    for (const query of ["encoding=mp3", "sample_rate=abc", "channels=9", "sessionId=%00", "sessionId=a/b"]) {
      const { status, body } = await tryUpgrade(gw.listenUrl, query);
      expect(status).toBe(400);
      expect(body.trim().split("\n")).toHaveLength(1);
    }
  });

  test("slowloris handshakes (a header byte per second) are closed by the server's header deadline", async () => {
    const request = `GET /v1/listen?sessionId=slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    const slow = Array.from(
      { length: 20 },
      () =>
        new Promise<number>((resolve) => {
          const startedAt = performance.now();
          const socket = net.connect(gw.port, "127.0.0.1");
          let sent = 0;
          const timer = setInterval(() => socket.write(sent < request.length ? request[sent++]! : "X-Slow: 1\r\n"), 1000);
          socket.on("error", () => undefined);
          socket.on("close", () => {
            clearInterval(timer);
            resolve(performance.now() - startedAt);
          });
          setTimeout(() => socket.destroy(), 30_000);
        }),
    );
    const closedAfterMs = await Promise.all(slow);
    console.log(
      `[hostile] 20 slowloris handshakes closed after ${Math.min(...closedAfterMs).toFixed(0)}-${Math.max(...closedAfterMs).toFixed(0)} ms`,
    );
    expect(Math.max(...closedAfterMs)).toBeLessThan(20_000);
    await bystanderUnaffected();
  }, 60_000);

  test("a transcriber that stops reading closes that session with 1013 at the backpressure limit", async () => {
    // A second transcriber process, frozen with SIGSTOP: its socket stops draining, as a wedged container would.
    const own = await startTestGateway({
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "process",
      TRANSCRIBER_BACKEND: "echo",
      BACKPRESSURE_LIMIT_BYTES: String(256 * 1024),
    });
    try {
      const client = TestClient.connect(`${own.listenUrl}?sessionId=frozen`);
      await client.next("Metadata", 30_000);
      const pid = Number(own.gateway.state.registry.get("shared").containerId!.replace("pid:", ""));
      process.kill(pid, "SIGSTOP");
      try {
        const frame = new Uint8Array(32_000);
        for (let i = 0; i < 2000 && client.ws.readyState === WebSocket.OPEN; i++) {
          client.send(frame);
          if (i % 10 === 0) await Bun.sleep(2);
        }
        const closed = await client.closed;
        expect(closed.code).toBe(1013);
        expect(client.ofType("Error").at(-1)?.code).toBe("transcriber_backpressure");
      } finally {
        process.kill(pid, "SIGCONT");
      }
      const stats = await own.stats();
      expect(stats.totals.openSessions).toBe(0);
      expect(stats.instances[0].connections).toBe(0);
    } finally {
      await own.stop();
    }
  }, 60_000);

  test("the bystander ends cleanly and nothing leaked", async () => {
    bystander.send({ type: "CloseStream" });
    expect((await bystander.closed).code).toBe(1000);
    const stats = await gw.stats();
    expect(stats.totals.openSessions).toBe(0);
    expect(stats.instances.every((i: any) => i.connections === 0)).toBe(true);
    expect(stats.coordinator.totalSessions).toBe(0);
  });
});

describe("hostile: sessionId required", () => {
  test("session mode refuses a missing sessionId with 400 before any container starts", async () => {
    const gw = await startTestGateway({ ROUTING_MODE: "session", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
    try {
      const { status, body } = await tryUpgrade(gw.listenUrl, QUERY);
      expect(status).toBe(400);
      expect(body).toContain("sessionId");
      expect((await gw.stats()).instances).toEqual([]);
    } finally {
      await gw.stop();
    }
  });
});
