/**
 * Seeded fuzz: over 100,000 random frames and control messages, most through the gateway and some straight
 * to the transcriber, over a real gateway, a real transcriber process (libopus decoding every binary frame)
 * and the stand-in. Zero crashes (the same transcriber process answers throughout), zero leaked sessions.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../test/gateway.ts";
import { speechPackets } from "../test/scenarios.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_605);
const TOTAL_MESSAGES = 100_000;
const GATEWAY_CONNECTIONS = 12;
const DIRECT_CONNECTIONS = 4;
const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/** mulberry32: a small, fast, seedable PRNG, so a failure can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random message: random bytes, real or mangled Opus packets, control messages, JSON and not-JSON. */
function randomMessage(random: () => number, opus: readonly Uint8Array[]): string | Uint8Array {
  const pick = random();
  const int = (n: number) => Math.floor(random() * n);
  if (pick < 0.4) {
    const bytes = new Uint8Array(int(400));
    for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
    return bytes;
  }
  if (pick < 0.55) return opus[int(opus.length)]!;
  if (pick < 0.65) {
    const packet = opus[int(opus.length)]!.slice(0, 1 + int(200));
    for (let i = 0; i < 3; i++) packet[int(packet.length)] = int(256);
    return packet;
  }
  if (pick < 0.75) return JSON.stringify({ type: random() < 0.5 ? "KeepAlive" : "Finalize" });
  const texts = [
    () => "{",
    () => JSON.stringify({ type: String.fromCharCode(...Array.from({ length: int(20) }, () => 32 + int(90))) }),
    () => JSON.stringify({ type: "KeepAlive", extra: "x".repeat(int(6000)) }),
    () => JSON.stringify([int(10), null, { type: null }]),
    () => String(random()),
    () => String.fromCharCode(...Array.from({ length: int(64) }, () => int(0xd7ff))),
    () => "",
    () => JSON.stringify({ type: "Finalize", type2: { deep: { deeper: [1, 2, 3] } } }),
  ];
  return texts[int(texts.length)]!();
}
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(
    {
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "process",
      LOG_LEVEL: "warn",
    },
    { standin: true },
  );
}, 60_000);
afterAll(async () => {
  await gw?.stop();
});

test(`${TOTAL_MESSAGES} random frames and control messages: no crash, no leaked session (seed ${SEED})`, async () => {
  const opus = await speechPackets(230, 2, 800);
  const first = new WebSocket(`${gw.listenUrl}?sessionId=fuzz-first&${QUERY}`);
  await new Promise((resolve) => first.addEventListener("message", resolve, { once: true }));
  first.close();
  const instance = gw.gateway.state.registry.get("shared");
  const transcriberPid = instance.containerId;
  const transcriberUrl = `ws://${instance.endpoint}/v1/listen?${QUERY}`;

  const closeCodes: Record<string, number> = {};
  let sent = 0;
  let connections = 0;
  let slowestCloseMs = 0;
  const perConnection = Math.ceil(TOTAL_MESSAGES / (GATEWAY_CONNECTIONS + DIRECT_CONNECTIONS));
  const startedAt = performance.now();

  /** Sends `count` messages, reopening the socket whenever the far side closes it (a 1009, a backpressure close). */
  async function fuzzOne(index: number, url: string, count: number): Promise<void> {
    const random = prng(SEED + index);
    let remaining = count;
    while (remaining > 0) {
      connections++;
      const ws = new WebSocket(url.replace("SESSION", `fuzz-${index}-${connections}`));
      ws.binaryType = "arraybuffer";
      const closed = new Promise<void>((resolve) =>
        ws.addEventListener("close", (e) => {
          closeCodes[e.code] = (closeCodes[e.code] ?? 0) + 1;
          resolve();
        }),
      );
      const opened = await Promise.race([
        new Promise<boolean>((r) => ws.addEventListener("open", () => r(true))),
        closed.then(() => false),
      ]);
      if (!opened) continue;
      while (remaining > 0 && ws.readyState === WebSocket.OPEN) {
        ws.send(randomMessage(random, opus));
        sent++;
        remaining--;
        if (remaining % 100 === 0) await Bun.sleep(ws.bufferedAmount > 256 * 1024 ? 20 : 1);
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));
      // CloseStream queues behind every frame sent before it: the transcriber works through the backlog first.
      const closeSentAt = performance.now();
      await Promise.race([closed, Bun.sleep(60_000).then(() => ws.close())]);
      slowestCloseMs = Math.max(slowestCloseMs, performance.now() - closeSentAt);
    }
  }

  await Promise.all([
    ...Array.from({ length: GATEWAY_CONNECTIONS }, (_, i) => fuzzOne(i, `${gw.listenUrl}?sessionId=SESSION&${QUERY}`, perConnection)),
    ...Array.from({ length: DIRECT_CONNECTIONS }, (_, i) => fuzzOne(100 + i, transcriberUrl, perConnection)),
  ]);
  const elapsedS = (performance.now() - startedAt) / 1000;
  for (let i = 0; i < 100 && gw.gateway.state.relays.size > 0; i++) await Bun.sleep(50);
  const health = await (await fetch(`http://${instance.endpoint}/health`)).json();
  const stats = await gw.stats();
  console.log(
    `[fuzz] seed ${SEED}: ${sent} messages over ${connections} connections in ${elapsedS.toFixed(1)} s (slowest close after CloseStream ${slowestCloseMs.toFixed(0)} ms); close codes ${JSON.stringify(closeCodes)}; ` +
      `transcriber sessions left ${health.sessions}; gateway open sessions ${stats.totals.openSessions}`,
  );
  expect(sent).toBeGreaterThanOrEqual(TOTAL_MESSAGES);
  expect(instance.containerId).toBe(transcriberPid); // the transcriber never crashed
  expect(instance.stateName).toBe("running");
  expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  expect(Object.keys(closeCodes).every((code) => ["1000", "1009", "1013"].includes(code))).toBe(true);
  expect(stats.totals.openSessions).toBe(0);
  expect(stats.instances[0].connections).toBe(0);
  expect(stats.coordinator.totalSessions).toBe(0);
  for (let i = 0; i < 50 && health.sessions > 0; i++) await Bun.sleep(100);
  expect((await (await fetch(`http://${instance.endpoint}/health`)).json()).sessions).toBe(0);
}, 240_000);
