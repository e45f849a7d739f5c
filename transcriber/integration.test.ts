/**
 * The transcriber against the local realtime stand-in, through the real `openai` SDK over TLS with the
 * stand-in's self-signed certificate trusted via OPENAI_CA_PEM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStandin, type Standin } from "../standin/server.ts";
import { parseTranscript } from "../standin/transcript.ts";
import { encodeOpusPackets, packetsDurationMs, speechLikePcm48k } from "../test/audio.ts";
import { TestClient } from "../test/client.ts";
import type { ClientMessage } from "./protocol.ts";
import { startTranscriber, type RunningTranscriber } from "./server.ts";

type Results = Extract<ClientMessage, { type: "Results" }>;
const isFinal = (m: ClientMessage): m is Results => m.type === "Results" && m.is_final;
const isInterim = (m: ClientMessage): m is Results => m.type === "Results" && !m.is_final;
const transcriptOf = (m: Results) => m.channel.alternatives[0]!.transcript;

/** Two turns, 3.6 s in all: speech at 0-1.0 s and 1.7-2.9 s. */
const TURNS = [
  { speechMs: 1000, silenceMs: 700 },
  { speechMs: 1200, silenceMs: 700 },
];

let standin: Standin;
const transcribers: RunningTranscriber[] = [];

async function startAgainstStandin(extraEnv: Record<string, string> = {}) {
  const transcriber = await startTranscriber({
    reconnectBaseMs: 20,
    port: 0,
    host: "127.0.0.1",
    env: {
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: standin.baseUrl,
      OPENAI_CA_PEM: standin.caPem,
      LOG_LEVEL: "silent",
      ...extraEnv,
    },
  });
  transcribers.push(transcriber);
  return `ws://127.0.0.1:${transcriber.port}`;
}

/** Audio received by the stand-in on connections opened after `since` (an index into its sessions). */
const standinAudioMs = (since: number) =>
  standin
    .sessions()
    .slice(since)
    .reduce((sum, s) => sum + s.receivedAudioMs, 0);

beforeAll(async () => {
  standin = await startStandin({ certDir: mkdtempSync(join(tmpdir(), "transcriber-standin-")) });
});

afterAll(async () => {
  await Promise.all(transcribers.map((t) => t.stop()));
  await standin.close();
});

describe("transcriber with the realtime stand-in", () => {
  test("streams Opus speech and returns SpeechStarted, interim and final Results on the session timeline", async () => {
    const url = await startAgainstStandin();
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 220, turns: TURNS }));
    const since = standin.sessions().length;
    const client = TestClient.listen<ClientMessage>(
      url,
      "encoding=opus&sample_rate=48000&channels=1&language=en&session_id=it-1&interim_results=true&vad_events=true&utterance_end_ms=1000",
    );
    await client.stream(packets, 2, { sleepEach: true });
    const finals = (await client.waitFor(isFinal, 2)) as Results[];
    const started = client.json.filter((m) => m.type === "SpeechStarted");
    expect(started.length).toBe(2);
    expect(client.json.some(isInterim)).toBe(true);
    // utterance_end_ms=1000: the second turn began within 1 s of the first one's last word, so the first
    // utterance has no UtteranceEnd; the second one's comes when the stream closes (its gap never ran out).
    expect(client.json.filter((m) => m.type === "UtteranceEnd")).toEqual([]);

    for (const [i, final] of finals.entries()) {
      const heard = parseTranscript(transcriptOf(final));
      expect(heard).toMatchObject({ kind: "speech", hz: 220 });
      expect(Math.abs(heard!.ms - TURNS[i]!.speechMs)).toBeLessThanOrEqual(60);
    }
    // Server VAD items start up to 300 ms (prefix padding) before the onset and end where speech stops.
    expect(finals[0]!.start).toBeLessThanOrEqual(0.05);
    expect(finals[0]!.duration).toBeGreaterThan(0.9);
    expect(finals[0]!.duration).toBeLessThan(1.4);
    expect(finals[1]!.start).toBeGreaterThan(1.3);
    expect(finals[1]!.start).toBeLessThan(1.75);
    expect(finals[1]!.start + finals[1]!.duration).toBeGreaterThan(2.8);
    expect(finals[1]!.start + finals[1]!.duration).toBeLessThan(3.0);

    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    const ends = client.json.filter((m) => m.type === "UtteranceEnd");
    expect(ends).toHaveLength(1);
    expect((ends[0] as { last_word_end: number }).last_word_end).toBeCloseTo(finals[1]!.start + finals[1]!.duration, 1);
    const sentMs = packetsDurationMs(packets);
    expect(Math.abs(standinAudioMs(since) - sentMs) / sentMs).toBeLessThan(0.05);
  });

  test("CloseStream mid-speech delivers that speech's final before closing 1000", async () => {
    const url = await startAgainstStandin();
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 330, turns: [{ speechMs: 800, silenceMs: 0 }] }));
    const client = TestClient.listen<ClientMessage>(url);
    await client.stream(packets, 0);
    client.send({ type: "CloseStream" });
    const { code } = await client.closed;
    expect(code).toBe(1000);
    const finals = client.json.filter(isFinal);
    expect(finals.length).toBe(1);
    expect(parseTranscript(transcriptOf(finals[0]!))).toMatchObject({ kind: "speech", hz: 330 });
    expect(client.json.filter((m) => m.type === "Error")).toEqual([]);
  });

  test("finals come in audio order even when the upstream completes a later item first", async () => {
    // Sent at once: the stand-in's VAD ends the speech (0-0.7 s), then CloseStream commits the trailing silence.
    // The silence's shorter transcript completes first upstream; the client must still get the speech's first.
    const url = await startAgainstStandin();
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 260, turns: [{ speechMs: 700, silenceMs: 700 }] }));
    const client = TestClient.listen<ClientMessage>(url);
    await client.stream(packets, 0);
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    const finals = client.json.filter(isFinal);
    const heard = finals.map((m) => parseTranscript(transcriptOf(m))?.kind);
    console.log(`[order] finals: ${finals.map((m) => `${m.start}s+${m.duration}s "${transcriptOf(m)}"`).join(", ")}`);
    expect(heard[0]).toBe("speech");
    const starts = finals.map((m) => m.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    if (finals.length === 2) expect(heard[1]).toBe("silence");
  });

  test("two concurrent sessions each hear their own pitch", async () => {
    const url = await startAgainstStandin();
    const pitches = [200, 450];
    const clients = await Promise.all(
      pitches.map(async (pitchHz, i) => {
        const client = TestClient.listen<ClientMessage>(url, `encoding=opus&session_id=pitch-${i}`);
        await client.stream(await encodeOpusPackets(speechLikePcm48k({ pitchHz, turns: TURNS })), 2, { sleepEach: true });
        client.send({ type: "CloseStream" });
        await client.closed;
        return client;
      }),
    );
    for (const [i, client] of clients.entries()) {
      const speech = client.json
        .filter(isFinal)
        .map((m) => parseTranscript(transcriptOf(m)))
        .filter((h) => h?.kind === "speech");
      expect(speech.length).toBe(2);
      expect(speech.every((h) => h!.hz === pitches[i])).toBe(true);
    }
  });

  test("a forced reconnect (session age limit) loses no audio and keeps the timeline", async () => {
    const url = await startAgainstStandin({ REALTIME_SESSION_MAX_MS: "1000" });
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 260, turns: TURNS }));
    const since = standin.sessions().length;
    const client = TestClient.listen<ClientMessage>(url);
    // 20 ms of audio every 10 ms: the 3.6 s stream takes about 1.8 s, so the limit hits mid-stream.
    await client.stream(packets, 10, { sleepEach: true });
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    const upstreamSessions = standin.sessions().slice(since);
    expect(upstreamSessions.length).toBeGreaterThanOrEqual(2);
    const sentMs = packetsDurationMs(packets);
    expect(Math.abs(standinAudioMs(since) - sentMs) / sentMs).toBeLessThan(0.05);
    const finals = client.json.filter(isFinal);
    const starts = finals.map((f) => f.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(Math.max(...finals.map((f) => f.start + f.duration))).toBeGreaterThan(2.5);
    expect(Math.max(...finals.map((f) => f.start + f.duration))).toBeLessThanOrEqual(sentMs / 1000 + 0.05);
  });

  test("an upstream that drops mid-item is reconnected and the item's audio replayed", async () => {
    const url = await startAgainstStandin();
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 240, turns: TURNS }));
    const since = standin.sessions().length;
    standin.failNext("drop");
    const client = TestClient.listen<ClientMessage>(url);
    await client.stream(packets, 2, { sleepEach: true });
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    expect(standin.sessions().length - since).toBe(2);
    const speech = client.json.filter(isFinal).filter((m) => parseTranscript(transcriptOf(m))?.kind === "speech");
    expect(speech.map((m) => parseTranscript(transcriptOf(m))?.hz)).toEqual([240, 240]);
    expect(speech[0]!.start).toBeLessThanOrEqual(0.05);
    expect(speech[1]!.start).toBeGreaterThan(1.3);
    expect(client.json.filter((m) => m.type === "Error")).toEqual([]);
  });

  test("an upstream that keeps refusing ends the session with upstream_failed and 1014", async () => {
    const url = await startAgainstStandin();
    standin.failNext("reject", 6);
    const client = TestClient.listen<ClientMessage>(url);
    await client.stream(await encodeOpusPackets(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 200, silenceMs: 0 }] })), 0);
    const { code } = await client.closed;
    expect(code).toBe(1014);
    expect(client.json.at(-1)).toMatchObject({ type: "Error", code: "upstream_failed" });
  });

  test("an upstream refusing the API key (401, through the real SDK) ends the session at once with upstream_failed and 1014", async () => {
    const strict = await startStandin({ port: 0, apiKey: "the-right-key" });
    try {
      const url = await startAgainstStandin({ OPENAI_BASE_URL: strict.baseUrl, OPENAI_CA_PEM: strict.caPem });
      const client = TestClient.listen<ClientMessage>(url);
      await client.stream(await encodeOpusPackets(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 200, silenceMs: 0 }] })), 0);
      const { code } = await client.closed;
      expect(code).toBe(1014);
      expect(client.json.at(-1)).toMatchObject({ type: "Error", code: "upstream_failed", message: expect.stringContaining("HTTP 401") });
      expect(strict.sessions()).toHaveLength(1); // refused once, never asked again with the same key
    } finally {
      await strict.close();
    }
  });

  test("linear16 stereo at 48 kHz is downmixed and resampled to what the stand-in hears", async () => {
    const url = await startAgainstStandin();
    const mono = speechLikePcm48k({ pitchHz: 300, turns: [{ speechMs: 1000, silenceMs: 700 }] });
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((sample, i) => {
      stereo[2 * i] = sample;
      stereo[2 * i + 1] = sample;
    });
    const bytes = new Uint8Array(stereo.buffer);
    const frames: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 3840) frames.push(bytes.subarray(at, at + 3840));
    const since = standin.sessions().length;
    const client = TestClient.listen<ClientMessage>(url, "encoding=linear16&sample_rate=48000&channels=2");
    await client.stream(frames, 1, { sleepEach: true });
    const [final] = (await client.waitFor(isFinal)) as Results[];
    expect(parseTranscript(transcriptOf(final!))).toMatchObject({ kind: "speech", hz: 300 });
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    expect(Math.abs(standinAudioMs(since) - 1700)).toBeLessThan(20);
  });
});
