/**
 * Faults 2 and 3: the gateway process itself is signalled. SIGTERM drains (readyz 503 at once, new upgrades
 * 503 + Retry-After, open sessions get their final Results, then Error gateway_shutdown and 1001 (the gateway
 * goes away; 1000 is only the answer to a client's CloseStream) within DRAIN_TIMEOUT, every
 * container stopped); SIGKILL leaves containers behind, which the next start with the same GATEWAY_NAME removes.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { ensureImage } from "../../runtime/image-build.ts";
import { startStandin, type Standin } from "../../standin/server.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { containersOf, podman } from "../../test/podman.ts";
import { finals, speechPackets } from "../../test/scenarios.ts";
import { spawnGateway, tryUpgrade } from "./gateway-process.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";
/** The SIGTERM test also asks for SpeechStarted, to signal while a turn is in progress. */
const VAD_QUERY = `${QUERY}&vad_events=true`;

/** Each client's messages in order, and the gateway's last log lines: what a failure needs to be read. */
function timeline(clients: TestClient[], gw: { logs: Array<Record<string, any>> }): string {
  const sessions = clients.map(
    (c, i) => `session ${i}: ${c.json.map((m) => (m.type === "Results" ? (m.is_final ? "final" : "interim") : m.type)).join(" ")}`,
  );
  const logs = gw.logs.slice(-12).map((l) => `  ${l.msg}${l.err ? ` (${l.err})` : ""}`);
  return [...sessions, "gateway's last log lines:", ...logs].join("\n");
}

describe("fault: the gateway process is signalled", () => {
  let standin: Standin;
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    standin = await startStandin({ port: 0 });
  }, 300_000);
  afterAll(() => standin?.close());

  engineTest(
    "SIGTERM: readyz 503 at once, upgrades 503 + Retry-After, sessions get finals and close within DRAIN_TIMEOUT, no container left",
    async () => {
      const gw = await spawnGateway({
        ROUTING_MODE: "pool",
        CONTAINER_POOL_SIZE: "2",
        CONTAINER_DRIVER: "podman",
        CONTAINER_NETWORK: "host",
        OPENAI_API_KEY: "test-key",
        OPENAI_BASE_URL: standin.baseUrl,
        OPENAI_CA_FILE: standin.caFile,
        DRAIN_TIMEOUT: "8s",
      });
      let clients: TestClient[] = [];
      try {
        const packets = await speechPackets(220, 3, 900);
        clients = ["drain-a", "drain-b", "drain-c", "drain-d"].map((id) =>
          TestClient.connect(`${gw.listenUrl}?sessionId=${id}&${VAD_QUERY}`),
        );
        await Promise.all(clients.map((c) => c.next("Metadata", 30_000)));
        expect(new Set(clients.map((c) => c.ofType("Metadata")[0]!.container)).size).toBe(2);
        // Stream live; the signal comes mid-stream, during the second turn: once every session has its first
        // final and the transcriber saw the second turn's speech start (SpeechStarted), whatever the machine's pace.
        const streams = clients.map((c) => c.stream(packets));
        await Promise.all(
          clients.map((c) =>
            c.until(() => finals(c).length >= 1 && c.ofType("SpeechStarted").length >= 2, 20_000, "the second turn's SpeechStarted"),
          ),
        );
        await Bun.sleep(150);
        const signalledAt = performance.now();
        gw.kill("SIGTERM");
        await gw.waitForLog((l) => l.msg === "shutting down: draining sessions", 5000);
        const readyz = await fetch(`${gw.httpUrl}/readyz`);
        const readyzMs = performance.now() - signalledAt;
        expect(readyz.status).toBe(503);
        expect(await readyz.json()).toMatchObject({ ready: false, reason: "draining" });
        const refused = await tryUpgrade(gw.listenUrl, `sessionId=late&${QUERY}`);
        expect(refused.status).toBe(503);
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);

        const closes = await Promise.all(clients.map((c) => c.closed));
        const drainedMs = performance.now() - signalledAt;
        await Promise.all(streams);
        console.log(
          `[fault sigterm] readyz 503 ${readyzMs.toFixed(0)} ms after SIGTERM; 4 sessions closed ${closes.map((c) => c.code).join(",")} within ${drainedMs.toFixed(0)} ms (DRAIN_TIMEOUT 8 s); finals per session: ${clients.map((c) => finals(c).length).join(",")}`,
        );
        for (const close of closes) expect(close.code).toBe(1001);
        for (const client of clients) expect(client.ofType("Error").map((m) => m.code)).toEqual(["gateway_shutdown"]);
        expect(drainedMs).toBeLessThan(8000 + 1000);
        // The turn in progress at the signal was flushed: every session got finals after it.
        for (const client of clients) {
          expect(finals(client).length).toBeGreaterThanOrEqual(2);
          expect(client.ofType("Results").at(-1)?.is_final).toBe(true);
        }
        expect(await gw.exited).toBe(0);
        expect(await containersOf(gw.gatewayName)).toEqual([]);
      } catch (error) {
        console.error(`[fault sigterm] failed; what each session received:\n${timeline(clients, gw)}`);
        throw error;
      } finally {
        // A failed assertion must not leave the pool behind: let the drain finish, then remove what is left.
        gw.kill("SIGTERM");
        await Promise.race([gw.exited, Bun.sleep(15_000)]);
        gw.kill("SIGKILL");
        const left = await containersOf(gw.gatewayName);
        if (left.length > 0) await podman("rm", "-f", "-t", "0", ...left);
      }
    },
    120_000,
  );

  engineTest(
    "SIGKILL, then a restart with the same GATEWAY_NAME removes every leftover container and serves again",
    async () => {
      const env = {
        ROUTING_MODE: "pool",
        CONTAINER_POOL_SIZE: "2",
        POOL_PREWARM: "true",
        CONTAINER_DRIVER: "podman",
        CONTAINER_NETWORK: "host",
        TRANSCRIBER_BACKEND: "echo",
      };
      const first = await spawnGateway(env);
      let second: Awaited<ReturnType<typeof spawnGateway>> | undefined;
      try {
        const client = TestClient.connect(`${first.listenUrl}?sessionId=orphan`);
        await client.next("Metadata", 30_000);
        for (let i = 0; i < 200 && (await containersOf(first.gatewayName, { running: true })).length < 2; i++) await Bun.sleep(100);
        const leftovers = await containersOf(first.gatewayName, { running: true });
        expect(leftovers).toHaveLength(2);
        first.kill("SIGKILL");
        await first.exited;
        expect((await client.closed).code).toBe(1006);
        // Nobody stopped them: they outlive the gateway.
        expect((await containersOf(first.gatewayName, { running: true })).sort()).toEqual([...leftovers].sort());

        second = await spawnGateway({ ...env, GATEWAY_NAME: first.gatewayName });
        const swept = second.logs.find((l) => l.msg === "removed containers left by a previous run");
        expect(swept?.swept).toBe(2);
        const again = TestClient.connect(`${second.listenUrl}?sessionId=orphan`);
        await again.next("Metadata", 30_000);
        again.send(new Uint8Array([9, 9, 9]));
        await again.until(() => again.binary.length === 1, 10_000, "the echo");
        const now = await containersOf(first.gatewayName);
        expect(now.filter((name) => leftovers.includes(name))).toEqual([]);
        console.log(
          `[fault sigkill] ${leftovers.length} containers outlived the killed gateway; the restart removed ${swept?.swept} and runs ${now.length} new ones`,
        );
        again.send({ type: "CloseStream" });
        await again.closed;
        second.kill("SIGTERM");
        expect(await second.exited).toBe(0);
        expect(await containersOf(first.gatewayName)).toEqual([]);
      } finally {
        first.kill("SIGKILL");
        second?.kill("SIGKILL");
      }
    },
    120_000,
  );
});
