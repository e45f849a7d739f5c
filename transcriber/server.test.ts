import { afterAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { TestClient } from "../test/client.ts";
import { FakeUpstreams } from "./fake-upstream.ts";
import { startTranscriber, type RunningTranscriber } from "./server.ts";
import { EXPECTED_OPUS_BUILD } from "../test/opus-build.ts";

const logger = pino({ level: "silent" });
const started: RunningTranscriber[] = [];

async function start(env: Record<string, string>, upstreams = new FakeUpstreams()) {
  const transcriber = await startTranscriber({
    port: 0,
    host: "127.0.0.1",
    env: { OPENAI_API_KEY: "k", ...env },
    upstream: upstreams.factory,
    logger,
  });
  started.push(transcriber);
  return { transcriber, upstreams, http: `http://127.0.0.1:${transcriber.port}`, ws: `ws://127.0.0.1:${transcriber.port}` };
}

afterAll(async () => {
  await Promise.all(started.map((t) => t.stop()));
});

describe("transcriber server", () => {
  test("GET /health reports status, open sessions, backend, the Opus decoder and load", async () => {
    const { http, ws } = await start({});
    expect(await (await fetch(`${http}/health`)).json()).toEqual({
      status: "ok",
      sessions: 0,
      backend: "openai",
      opus: expect.stringMatching(EXPECTED_OPUS_BUILD),
      load: { eventLoopLagMs: 0, cpuShare: 0, accepting: true },
    });
    const client = TestClient.listen(ws);
    await client.opened;
    expect(await (await fetch(`${http}/health`)).json()).toMatchObject({ sessions: 1 });
    client.ws.close();
    await client.closed;
  });

  test("refuses bad listen parameters with HTTP 400 and a one-line reason", async () => {
    const { http } = await start({});
    const response = await fetch(`${http}/v1/listen?encoding=mp3`, { headers: { upgrade: "websocket", connection: "upgrade" } });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain("encoding");
    expect(body.trim().split("\n").length).toBe(1);
  });

  test("a frame over 64 KiB closes the session with 1009", async () => {
    const { ws } = await start({});
    const client = TestClient.listen(ws);
    await client.opened;
    client.ws.send(new Uint8Array(65 * 1024));
    expect((await client.closed).code).toBe(1009);
  });

  test("echo mode returns every binary frame byte for byte and closes 1000 on CloseStream", async () => {
    const { ws, upstreams } = await start({ TRANSCRIBER_BACKEND: "echo" });
    const client = TestClient.listen(ws);
    const frames = Array.from({ length: 50 }, (_, i) => crypto.getRandomValues(new Uint8Array(1 + i * 37)));
    await client.stream(frames, 0);
    while (client.binary.length < frames.length) await Bun.sleep(5);
    expect(client.binary).toEqual(frames);
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    expect(upstreams.connections.length).toBe(0);
  });

  test("stop() ends open sessions with Error container_stopped and 1012 (not 1000: the client did not finish) and stops listening", async () => {
    const { transcriber, ws, http } = await start({});
    const client = TestClient.listen(ws);
    await client.opened;
    await transcriber.stop();
    expect(await client.closed).toEqual({ code: 1012, reason: "server shutting down" });
    expect(client.ofType("Error").map((m) => m.code)).toEqual(["container_stopped"]);
    await expect(fetch(`${http}/health`)).rejects.toThrow();
  });
});
