/**
 * The Deepgram SDK's browser build (from node_modules, served by this test on 127.0.0.1) in Debian's chromium,
 * connecting to a real gateway (process driver, the stand-in behind it) the only way a browser can
 * authenticate a WebSocket: the `token, <key>` subprotocols for an API key, `bearer, <token>` for an access token.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTranscript } from "../../standin/transcript.ts";
import { speechLikePcm48k } from "../../test/audio.ts";
import { browserTests, launchChromium, type LaunchedBrowser } from "../../test/chromium.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { resampleForTest } from "../../test/wav.ts";

const browserTest = await browserTests();
const API_KEY = "dg-browser-test-key-0123456789";
const SDK_PATH = join(import.meta.dir, "../../node_modules/@deepgram/sdk/dist/browser/index.global.js");
const PAGE = `<!doctype html><meta charset="utf-8"><title>Deepgram SDK</title><script src="/sdk.js"></script>`;

let gateway: TestGateway;
let site: ReturnType<typeof Bun.serve>;
let browser: LaunchedBrowser | undefined;

beforeAll(async () => {
  gateway = await startTestGateway(
    { ROUTING_MODE: "shared", CONTAINER_DRIVER: "process", CONTAINER_NETWORK: "host", API_KEYS: API_KEY, TOKEN_SECRET: "s".repeat(40) },
    { standin: true },
  );
  const sdk = readFileSync(SDK_PATH);
  // The page's own origin, as a web app's would be; the gateway is another origin (ALLOWED_ORIGINS unset).
  site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/sdk.js"
        ? new Response(sdk, { headers: { "content-type": "text/javascript" } })
        : new Response(PAGE, { headers: { "content-type": "text/html" } }),
  });
});

afterAll(async () => {
  await browser?.close();
  site?.stop(true);
  await gateway?.stop();
});

/** 16 kHz linear16 of one 900 ms turn and silence, as base64 blocks of 100 ms (what a page would capture). */
function pcmBlocksBase64(): string[] {
  const pcm = resampleForTest(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 900, silenceMs: 800 }] }), 48_000, 16_000);
  const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const blocks: string[] = [];
  for (let at = 0; at < bytes.length; at += 3200) blocks.push(bytes.subarray(at, at + 3200).toString("base64"));
  return blocks;
}

interface PageOutcome {
  messages: Array<{ type: string; is_final?: boolean; channel?: { alternatives: Array<{ transcript: string }> }; duration?: number }>;
  close: { code: number };
}

/** Runs one SDK session inside the page: `auth` is `{ apiKey }` or `{ accessToken }`. */
async function sessionInPage(auth: { apiKey: string } | { accessToken: string }): Promise<PageOutcome> {
  browser ??= await launchChromium();
  const page = await browser.context.newPage();
  await page.goto(site.url.href);
  const wsUrl = `ws://127.0.0.1:${gateway.port}`;
  return page.evaluate(
    async ({ auth, wsUrl, httpUrl, blocks }) => {
      const sdk = (globalThis as unknown as { Deepgram: { DeepgramClient: new (options: object) => any } }).Deepgram;
      const client = new sdk.DeepgramClient({
        ...auth,
        environment: { base: httpUrl, production: wsUrl, agent: wsUrl, agentRest: httpUrl },
      });
      const socket = await client.listen.v1.connect({
        model: "nova-3",
        encoding: "linear16",
        sample_rate: "16000",
        channels: "1",
        reconnectAttempts: 0,
      });
      const messages: PageOutcome["messages"] = [];
      const closed = new Promise<{ code: number }>((resolve) =>
        socket.on("close", (event: { code: number }) => resolve({ code: event.code })),
      );
      socket.on("message", (message: PageOutcome["messages"][number]) => messages.push(message));
      socket.connect();
      const opened = await socket.waitForOpen().then(
        () => true,
        () => false,
      );
      if (!opened) return { messages, close: { code: -1 } };
      for (const block of blocks) socket.sendMedia(Uint8Array.from(atob(block), (c) => c.charCodeAt(0)));
      socket.sendCloseStream({ type: "CloseStream" });
      const close = await Promise.race([
        closed,
        new Promise<{ code: number }>((resolve) => setTimeout(() => resolve({ code: -1 }), 20_000)),
      ]);
      return { messages, close };
    },
    { auth, wsUrl, httpUrl: gateway.httpUrl, blocks: pcmBlocksBase64() },
  );
}

function expectTranscribed(outcome: PageOutcome): void {
  expect(outcome.close.code).toBe(1000);
  const finals = outcome.messages.filter((m) => m.type === "Results" && m.is_final);
  const heard = finals.map((f) => parseTranscript(f.channel!.alternatives[0]!.transcript));
  // Sent in one burst, the CloseStream can commit the trailing silence before the VAD has ended the turn:
  // that final says so ("N ms of silence"). Exactly one final has the speech.
  expect(heard.filter((h) => h?.kind !== "silence")).toEqual([{ kind: "speech", ms: expect.any(Number), hz: 200 }]);
  const speech = heard.find((h) => h?.kind === "speech");
  expect(Math.abs(speech!.ms - 900)).toBeLessThanOrEqual(45);
  expect(outcome.messages.at(-1)).toMatchObject({ type: "Metadata", duration: 1.7 });
}

browserTest(
  "the SDK's browser build connects with an API key as the `token` subprotocol and gets the transcript",
  async () => {
    expectTranscribed(await sessionInPage({ apiKey: API_KEY }));
    // A browser cannot send headers: the key did travel as the subprotocol, since a wrong one is refused.
    const refused = await sessionInPage({ apiKey: "wrong-key-0123456789abcdef" });
    expect(refused).toEqual({ messages: [], close: { code: -1 } });
  },
  60_000,
);

browserTest(
  "the SDK's browser build connects with an access token from /v1/auth/grant as the `bearer` subprotocol",
  async () => {
    const grant = await fetch(`${gateway.httpUrl}/v1/auth/grant`, {
      method: "POST",
      headers: { authorization: `Token ${API_KEY}` },
      body: JSON.stringify({ ttl_seconds: 60 }),
    });
    const { access_token } = (await grant.json()) as { access_token: string };
    expectTranscribed(await sessionInPage({ accessToken: access_token }));
    expect(gateway.logs.filter((line) => String(line.msg).startsWith("Using dispatcher")).length).toBe(2);
  },
  60_000,
);
