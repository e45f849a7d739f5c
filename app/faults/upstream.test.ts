/**
 * Fault 5, end to end: client -> gateway -> transcriber container -> stand-in, with the stand-in's fault hooks
 * on the OpenAI side. Drops, transcription errors and stalls are retried with backoff and the undelivered audio
 * replayed (every turn still gets its final); a permanent failure reaches the client as Error + 1014.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { ensureImage } from "../../runtime/image-build.ts";
import { startStandin, type Standin } from "../../standin/server.ts";
import { packetsDurationMs } from "../../test/audio.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { finals, pitchesIn, speechPackets } from "../../test/scenarios.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";
const TURNS = 3;

describe("fault: the OpenAI side drops, errors, stalls or fails for good", () => {
  let standin: Standin;
  let gw: TestGateway;
  let packets: Uint8Array[];
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    standin = await startStandin({ port: 0 });
    gw = await startTestGateway({
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "podman",
      CONTAINER_NETWORK: "host",
      OPENAI_API_KEY: "test-key",
      OPENAI_BASE_URL: standin.baseUrl,
      OPENAI_CA_FILE: standin.caFile,
    });
    packets = await speechPackets(240, TURNS, 900);
  }, 300_000);
  afterAll(async () => {
    await gw?.stop();
    await standin?.close();
  });

  /** Streams the turns (faster than live), closes the stream, and checks every turn arrived as a final. */
  async function everyTurnTranscribed(label: string, sessionId: string, closeWithinMs = 30_000) {
    const since = standin.sessions().length;
    const client = TestClient.connect(`${gw.listenUrl}?sessionId=${sessionId}&${QUERY}`);
    await client.next("Metadata", 30_000);
    const startedAt = performance.now();
    await client.stream(packets, 5, { sleepEach: true });
    client.send({ type: "CloseStream" });
    const closed = await Promise.race([client.closed, Bun.sleep(closeWithinMs).then(() => ({ code: -1, reason: "timeout" }))]);
    const upstream = standin.sessions().slice(since);
    const heardMs = upstream.reduce((sum, s) => sum + s.receivedAudioMs, 0);
    const sentMs = packetsDurationMs(packets);
    const speech = finals(client).filter((t) => /hz/.test(t));
    console.log(
      `[fault upstream ${label}] ${upstream.length} upstream connections; sent ${sentMs} ms, upstream heard ${Math.round(heardMs)} ms (replay included); ` +
        `${speech.length}/${TURNS} turns transcribed; closed ${closed.code} after ${(performance.now() - startedAt).toFixed(0)} ms`,
    );
    expect(closed.code).toBe(1000);
    expect(upstream.length).toBeGreaterThanOrEqual(2);
    expect(heardMs).toBeGreaterThanOrEqual(sentMs * 0.97);
    expect(speech).toHaveLength(TURNS);
    for (const hz of pitchesIn(speech)) expect(Math.abs(hz - 240)).toBeLessThanOrEqual(20);
    expect(client.ofType("Error")).toEqual([]);
  }

  engineTest(
    "a dropped upstream is reconnected and the undelivered audio replayed",
    async () => {
      standin.failNext("drop");
      await everyTurnTranscribed("drop", "up-drop");
    },
    60_000,
  );

  engineTest(
    "a failed transcription is retried on a fresh connection with the same audio",
    async () => {
      standin.failNext("error");
      await everyTurnTranscribed("error", "up-error");
    },
    60_000,
  );

  engineTest(
    "a stalled upstream (socket open, no transcript) is abandoned and the audio replayed elsewhere",
    async () => {
      standin.failNext("stall");
      await everyTurnTranscribed("stall", "up-stall");
    },
    60_000,
  );

  engineTest(
    "an upstream that keeps refusing ends the session with Error upstream_failed and 1014",
    async () => {
      standin.failNext("reject", 10);
      const client = TestClient.connect(`${gw.listenUrl}?sessionId=up-dead&${QUERY}`);
      await client.next("Metadata", 30_000);
      void client.stream(packets.slice(0, 50), 20);
      const closed = await client.closed;
      expect(closed.code).toBe(1014);
      expect(client.ofType("Error").at(-1)).toMatchObject({ code: "upstream_failed" });
      const stats = await gw.stats();
      expect(stats.totals.openSessions).toBe(0);
      expect(stats.instances[0].state).toBe("running"); // the container itself is fine
      standin.failNext("reject", 0);
    },
    60_000,
  );
});
