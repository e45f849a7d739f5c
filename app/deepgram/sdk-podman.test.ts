/**
 * The official Deepgram SDK (`@deepgram/sdk`), used as its README shows, against a real gateway on the real
 * engine with the realtime stand-in: under Bun and under Node, with an API key and with an access token,
 * interim results and VAD events on and off, Finalize and CloseStream; and its pre-recorded call. The
 * messages are read through the SDK's own TypeScript types, so `tsc` checks this file against them.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type Deepgram, DeepgramClient } from "@deepgram/sdk";
import { parseTranscript } from "../../standin/transcript.ts";
import { ensureImage } from "../../runtime/image-build.ts";
import { encodeOpusPackets, PACKET_MS, SAMPLE_RATE_48K, speechLikePcm48k, type Turn } from "../../test/audio.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { oggOpusFile } from "../../test/ogg.ts";
import { wavBytes } from "../../test/wav.ts";
import { type LiveOutcome, type LivePlan, runLive } from "./sdk-live-client.mjs";

const API_KEY = "dg-compat-test-key-0123456789";
/** One turn the endpointer ends (speech, then silence), then speech that only Finalize flushes. */
const TURNS: Turn[] = [
  { speechMs: 800, silenceMs: 800 },
  { speechMs: 600, silenceMs: 0 },
];
const AUDIO_MS = TURNS.reduce((sum, t) => sum + t.speechMs + t.silenceMs, 0);

type Message =
  | Deepgram.listen.ListenV1Results
  | Deepgram.listen.ListenV1Metadata
  | Deepgram.listen.ListenV1SpeechStarted
  | Deepgram.listen.ListenV1UtteranceEnd;
/** The gateway's first message: routing facts on top of Deepgram's Metadata fields. */
type RoutingMetadata = Deepgram.listen.ListenV1Metadata & {
  container: string;
  routing: string;
  gateway: string;
  start: string;
  wait_ms: number;
};

let gateway: TestGateway;
let packets: Uint8Array[];

beforeAll(async () => {
  if (!engine) return;
  await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
  packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 220, turns: TURNS }));
  gateway = await startTestGateway(
    { ROUTING_MODE: "shared", CONTAINER_NETWORK: "host", CONTAINER_DRIVER: "podman", API_KEYS: API_KEY, TOKEN_SECRET: "t".repeat(40) },
    { standin: true },
  );
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
});

function plan(auth: LivePlan["auth"], connect: Record<string, string>, finalize = true): LivePlan {
  return {
    httpUrl: gateway.httpUrl,
    wsUrl: `ws://127.0.0.1:${gateway.port}`,
    auth,
    connect: {
      model: "nova-3",
      encoding: "opus",
      sample_rate: String(SAMPLE_RATE_48K),
      channels: "1",
      language: "en",
      punctuate: "true",
      smart_format: "true",
      ...connect,
    },
    packetsBase64: packets.map((p) => Buffer.from(p).toString("base64")),
    gapMs: 2,
    finalize,
  };
}

/** Runs the plan under Node: `node sdk-live-node.mjs`, the plan on stdin, the outcome on stdout. */
async function runUnderNode(livePlan: LivePlan): Promise<LiveOutcome> {
  const child = Bun.spawn(["node", `${import.meta.dir}/sdk-live-node.mjs`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write(JSON.stringify(livePlan));
  await child.stdin.end();
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`node exited ${code}: ${err.trim().slice(0, 2000)}`);
  return JSON.parse(out) as LiveOutcome;
}

const runners = { bun: runLive, node: runUnderNode } as const;

async function accessToken(): Promise<string> {
  const response = await fetch(`${gateway.httpUrl}/v1/auth/grant`, { method: "POST", headers: { authorization: `Token ${API_KEY}` } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; expires_in: number };
  expect(body.expires_in).toBe(300);
  return body.access_token;
}

/** Checks one Results field by field, as Deepgram's typed clients read it. */
function checkResults(r: Deepgram.listen.ListenV1Results, requestId: string): void {
  expect(r.channel_index).toEqual([0, 1]);
  expect(r.start).toBeGreaterThanOrEqual(0);
  expect(r.duration).toBeGreaterThanOrEqual(0);
  expect(r.start + r.duration).toBeLessThanOrEqual(AUDIO_MS / 1000 + 0.05);
  expect(typeof r.is_final).toBe("boolean");
  expect(typeof r.speech_final).toBe("boolean");
  expect(typeof r.from_finalize).toBe("boolean");
  expect(r.metadata.request_id).toBe(requestId);
  expect(r.metadata.model_info).toEqual({ name: "gpt-4o-transcribe", version: "unknown", arch: "openai" });
  expect(r.metadata.model_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  const [alternative] = r.channel.alternatives;
  expect(alternative!.confidence).toBe(1);
  expect(alternative!.words.map((w) => w.punctuated_word).join(" ")).toBe(alternative!.transcript);
  let previousEnd = r.start;
  for (const word of alternative!.words) {
    expect(word.start).toBeCloseTo(previousEnd, 2);
    expect(word.end).toBeGreaterThanOrEqual(word.start);
    expect(word.word).toBe(word.punctuated_word!.toLowerCase());
    expect(word.confidence).toBe(1);
    previousEnd = word.end;
  }
  if (alternative!.words.length > 0) expect(previousEnd).toBeCloseTo(r.start + r.duration, 2);
}

/** What every session shows: routing Metadata first, typed Results, the closing Metadata, close 1000. */
function checkSession(outcome: LiveOutcome, options: { interim: boolean; vad: boolean }): Message[] {
  const messages = outcome.messages as Message[];
  expect(outcome.close.code).toBe(1000);
  // Every message is one of the SDK's four types: no Error (the KeepAlive was understood).
  expect(messages.map((m) => m.type).filter((type) => !["Metadata", "Results", "SpeechStarted", "UtteranceEnd"].includes(type))).toEqual(
    [],
  );
  const first = messages[0] as RoutingMetadata;
  expect(first).toMatchObject({
    type: "Metadata",
    container: "shared",
    routing: "shared",
    duration: 0,
    channels: 1,
    transaction_key: "deprecated",
    gateway: gateway.gateway.config.gatewayId,
  });
  const requestId = first.request_id;
  const closing = messages.at(-1) as Deepgram.listen.ListenV1Metadata;
  expect(closing.type).toBe("Metadata");
  expect(closing.request_id).toBe(requestId);
  expect(closing.channels).toBe(1);
  expect(Math.abs(closing.duration * 1000 - packets.length * PACKET_MS) / (packets.length * PACKET_MS)).toBeLessThan(0.05);
  expect(Math.abs(closing.duration * 1000 - AUDIO_MS) / AUDIO_MS).toBeLessThan(0.05);
  const audio = Buffer.concat(packets);
  expect(closing.sha256).toBe(new Bun.CryptoHasher("sha256").update(audio).digest("hex"));
  expect(Date.parse(closing.created)).toBeGreaterThan(Date.now() - 120_000);

  const results = messages.filter((m): m is Deepgram.listen.ListenV1Results => m.type === "Results");
  for (const r of results) checkResults(r, requestId);
  const finals = results.filter((r) => r.is_final);
  expect(finals.length).toBe(2);
  // The endpointer's turn, then Finalize's: the stand-in hears each turn's speech (within 5 %).
  const [vadFinal, finalizeFinal] = finals;
  expect(vadFinal).toMatchObject({ speech_final: true, from_finalize: false });
  expect(finalizeFinal).toMatchObject({ speech_final: false, from_finalize: true });
  finals.forEach((final, i) => {
    const heard = parseTranscript(final.channel.alternatives[0]!.transcript);
    expect(heard?.kind).toBe("speech");
    expect(Math.abs(heard!.ms - TURNS[i]!.speechMs) / TURNS[i]!.speechMs).toBeLessThan(0.05);
    // A Results spans at least the speech it transcribes.
    expect(final.duration * 1000).toBeGreaterThanOrEqual(heard!.ms * 0.95);
  });
  expect(results.some((r) => !r.is_final)).toBe(options.interim);
  const started = messages.filter((m): m is Deepgram.listen.ListenV1SpeechStarted => m.type === "SpeechStarted");
  expect(started.length > 0).toBe(options.vad);
  for (const s of started) expect(s.channel).toEqual([0, 1]);
  return messages;
}

describe("the Deepgram SDK against the gateway on the real engine", () => {
  for (const runtime of ["bun", "node"] as const) {
    engineTest(
      `${runtime}: API key, interim results, VAD events and UtteranceEnd on; Finalize flushes, CloseStream closes 1000`,
      async () => {
        const connect = { interim_results: "true", vad_events: "true", utterance_end_ms: "1000", tag: "live", extra: "team:edge" };
        const outcome = await runners[runtime](plan({ apiKey: API_KEY }, connect));
        const messages = checkSession(outcome, { interim: true, vad: true });
        expect(messages.at(-1)).toMatchObject({ type: "Metadata", tags: ["live"], extra: { team: "edge" } });
        const ends = messages.filter((m): m is Deepgram.listen.ListenV1UtteranceEnd => m.type === "UtteranceEnd");
        expect(ends.length).toBeGreaterThanOrEqual(1);
        expect(ends[0]!.channel).toEqual([0, 1]);
        expect(ends[0]!.last_word_end).toBeGreaterThan(0.7);
      },
      90_000,
    );

    engineTest(
      `${runtime}: access token from /v1/auth/grant; by default no interims, no SpeechStarted, no UtteranceEnd`,
      async () => {
        const outcome = await runners[runtime](plan({ accessToken: await accessToken() }, {}));
        const messages = checkSession(outcome, { interim: false, vad: false });
        expect(messages.some((m) => m.type === "UtteranceEnd")).toBe(false);
        expect("tags" in messages.at(-1)!).toBe(false);
      },
      90_000,
    );
  }

  engineTest("a wrong key is refused 401 before the upgrade, the reason in dg-error", async () => {
    const response = await fetch(`${gateway.httpUrl}/v1/listen?model=nova-3`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        authorization: "Token wrong-key-0123456789",
      },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("dg-error")).toBe("invalid credential");
    const unknownModel = await fetch(`${gateway.httpUrl}/v1/listen?model=flux-9`, {
      headers: { upgrade: "websocket", authorization: `Token ${API_KEY}` },
    });
    expect(unknownModel.status).toBe(400);
    expect(unknownModel.headers.get("dg-error")).toStartWith('model: unknown model "flux-9"');
  });

  for (const kind of ["WAV", "Ogg Opus"] as const) {
    engineTest(
      `pre-recorded: transcribeFile on a generated ${kind} file returns the transcript, faster than real time`,
      async () => {
        const turns: Turn[] = [
          { speechMs: 1000, silenceMs: 700 },
          { speechMs: 1200, silenceMs: 700 },
        ];
        const pcm = speechLikePcm48k({ pitchHz: 180, turns });
        const file = kind === "WAV" ? wavBytes(pcm, SAMPLE_RATE_48K) : oggOpusFile(await encodeOpusPackets(pcm));
        const audioMs = turns.reduce((sum, t) => sum + t.speechMs + t.silenceMs, 0);
        const client = new DeepgramClient({
          apiKey: API_KEY,
          environment: { base: gateway.httpUrl, production: `ws://127.0.0.1:${gateway.port}`, agent: "", agentRest: "" },
        });
        const startedAt = performance.now();
        const response = (await client.listen.v1.media.transcribeFile(file, {
          model: "nova-3",
          tag: ["ci"],
          extra: "team:edge",
        })) as Deepgram.ListenV1Response;
        const tookMs = performance.now() - startedAt;
        expect(tookMs).toBeLessThan(audioMs);
        const alternative = response.results.channels[0]!.alternatives![0]!;
        // The stand-in's transcripts, in audio order. The CloseStream can commit the trailing silence before the
        // VAD's end of the last turn reached the transcriber: that final says "N ms of silence" and is not speech.
        const parts = alternative.transcript!.match(/\d+ ms of (speech at \d+ hz|silence|noise)/g) ?? [];
        expect(parts.join(" ")).toBe(alternative.transcript!);
        const heard = parts.map((part) => parseTranscript(part)).filter((h) => h?.kind !== "silence");
        expect(heard.map((h) => h?.kind)).toEqual(["speech", "speech"]);
        heard.forEach((h, i) => expect(Math.abs(h!.ms - turns[i]!.speechMs) / turns[i]!.speechMs).toBeLessThan(0.05));
        expect(heard.map((h) => h!.hz)).toEqual([180, 180]);
        // The SDK's batch word type has word/start/end/confidence (Deepgram adds punctuated_word with punctuate).
        expect(alternative.words!.map((w) => w.word).join(" ")).toBe(alternative.transcript!);
        const starts = alternative.words!.map((w) => w.start!);
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
        for (const word of alternative.words!) expect(word.end!).toBeGreaterThanOrEqual(word.start!);
        expect(alternative.confidence).toBe(1);
        expect(Math.abs(response.metadata.duration * 1000 - audioMs) / audioMs).toBeLessThan(0.05);
        expect(response.metadata.channels).toBe(1);
        expect(response.metadata.request_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(response.metadata.tags).toEqual(["ci"]);
        expect((response.metadata as unknown as { extra: unknown }).extra).toEqual({ team: "edge" });
        console.log(`[pre-recorded ${kind}] ${audioMs} ms of audio transcribed in ${Math.round(tookMs)} ms`);
      },
      90_000,
    );
  }
});
