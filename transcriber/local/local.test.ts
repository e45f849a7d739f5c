/**
 * The local backend in a real transcriber with real pocketsphinx and libopus: LibriVox clips streamed as
 * Opus give interim and final Results close to the reference; other languages and sessions beyond
 * LOCAL_MAX_SESSIONS are refused with an Error and a close code.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import pino from "pino";
import { TestClient } from "../../test/client.ts";
import { clipOpusPackets, librivoxClips } from "../../test/librivox.ts";
import { wordErrorRate } from "../../test/wer.ts";
import { recognizerSkipReason, recognizerTest as localTest } from "../../test/recognizer.ts";
import { startTranscriber, type RunningTranscriber } from "../server.ts";

let transcriber: RunningTranscriber;
/** Interims and SpeechStarted are opt-in (Deepgram's defaults): these tests ask for them. */
const EVENTS_QUERY = "encoding=opus&sample_rate=48000&channels=1&interim_results=true&vad_events=true";
let baseUrl: string;

beforeAll(async () => {
  if (recognizerSkipReason) return;
  transcriber = await startTranscriber({
    port: 0,
    host: "127.0.0.1",
    env: { TRANSCRIBER_BACKEND: "local", LOCAL_MAX_SESSIONS: "2" },
    logger: pino({ level: "silent" }),
  });
  baseUrl = `ws://127.0.0.1:${transcriber.port}`;
});

afterAll(async () => {
  await transcriber?.stop();
});

describe("TRANSCRIBER_BACKEND=local", () => {
  localTest("a LibriVox clip as Opus: SpeechStarted, growing interims, a final near the reference, CloseStream -> 1000", async () => {
    const clip = librivoxClips()[1]!; // "he was not an ill disposed young man"
    const client = TestClient.listen(baseUrl, EVENTS_QUERY);
    await client.stream(await clipOpusPackets(clip, 300), 5);
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    const results = client.ofType("Results");
    const finals = results.filter((m) => m.is_final);
    const interims = results.filter((m) => !m.is_final);
    expect(client.ofType("SpeechStarted").length).toBeGreaterThanOrEqual(1);
    expect(interims.length).toBeGreaterThanOrEqual(2);
    expect(finals.length).toBeGreaterThanOrEqual(1);
    const hypothesis = finals.map((m) => m.channel.alternatives[0].transcript).join(" ");
    expect(wordErrorRate([{ reference: clip.reference, hypothesis }]).rate).toBeLessThanOrEqual(0.5);
    // On the session timeline: the clip is 3.0 s long, its speech starts after 0.2 s of silence.
    const [first, last] = [finals[0]!, finals.at(-1)!];
    expect(first.start).toBeGreaterThanOrEqual(0);
    expect(last.start + last.duration).toBeLessThanOrEqual(3.4);
    expect(last.start + last.duration - first.start).toBeGreaterThan(1);
  });

  localTest("linear16 at 16 kHz (no Opus): the same words come back", async () => {
    const clip = librivoxClips()[1]!; // "he was not an ill disposed young man"
    const client = TestClient.listen(baseUrl, "encoding=linear16&sample_rate=16000&channels=1");
    const frames = [];
    for (let at = 0; at < clip.pcm16k.length; at += 320) frames.push(new Uint8Array(clip.pcm16k.slice(at, at + 320).buffer));
    await client.stream(frames, 0);
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    const hypothesis = client
      .ofType("Results")
      .filter((m) => m.is_final)
      .map((m) => m.channel.alternatives[0].transcript)
      .join(" ");
    expect(wordErrorRate([{ reference: clip.reference, hypothesis }]).rate).toBeLessThanOrEqual(0.5);
  });

  localTest("language other than English: Error unsupported_language naming the language, close 1008", async () => {
    const client = TestClient.listen(baseUrl, "encoding=opus&sample_rate=48000&channels=1&language=de");
    const closed = await client.closed;
    expect(closed.code).toBe(1008);
    const [error] = client.ofType("Error");
    expect(error).toMatchObject({ code: "unsupported_language" });
    expect(error!.message).toContain('"de"');
  });

  localTest("beyond LOCAL_MAX_SESSIONS: Error at_capacity and 1013; a freed decoder serves the next session", async () => {
    const held = [TestClient.listen(baseUrl), TestClient.listen(baseUrl)];
    await Promise.all(held.map((c) => c.opened));
    await Bun.sleep(50);
    // Its load report says so, for the gateway to refuse the next session before the upgrade.
    const healthUrl = `${baseUrl.replace("ws://", "http://")}/health`;
    expect((await (await fetch(healthUrl)).json()).load.accepting).toBe(false);
    const refused = TestClient.listen(baseUrl);
    expect((await refused.closed).code).toBe(1013);
    expect(refused.ofType("Error")[0]).toMatchObject({ code: "at_capacity" });
    held[0]!.send({ type: "CloseStream" });
    expect((await held[0]!.closed).code).toBe(1000);
    expect((await (await fetch(healthUrl)).json()).load.accepting).toBe(true);
    const next = TestClient.listen(baseUrl);
    await next.opened;
    await Bun.sleep(50);
    next.send({ type: "CloseStream" });
    expect((await next.closed).code).toBe(1000);
    held[1]!.send({ type: "CloseStream" });
    await held[1]!.closed;
  });

  localTest("stopping the transcriber mid-utterance sends that utterance's final, then Error container_stopped and 1012", async () => {
    const own = await startTranscriber({
      port: 0,
      host: "127.0.0.1",
      env: { TRANSCRIBER_BACKEND: "local" },
      logger: pino({ level: "silent" }),
    });
    const client = TestClient.listen(`ws://127.0.0.1:${own.port}`, EVENTS_QUERY);
    const packets = await clipOpusPackets(librivoxClips()[0]!);
    await client.stream(packets.slice(0, 150), 0); // the first 3 s of a 7 s sentence: no endpoint yet
    await client.until(() => client.ofType("Results").length > 0, 20_000, "an interim");
    await own.stop();
    expect((await client.closed).code).toBe(1012);
    expect(client.ofType("Error").map((m) => m.code)).toEqual(["container_stopped"]);
    const finals = client.ofType("Results").filter((m) => m.is_final);
    expect(finals.length).toBe(1);
    expect(finals[0]!.channel.alternatives[0].transcript).toContain("john");
  });

  localTest("five LibriVox clips, streamed faster than real time: word error rate at most 40 %", async () => {
    const pairs = [];
    for (const clip of librivoxClips()) {
      const client = TestClient.listen(baseUrl);
      await client.stream(await clipOpusPackets(clip, 300), 0);
      client.send({ type: "CloseStream" });
      expect((await client.closed).code).toBe(1000);
      const hypothesis = client
        .ofType("Results")
        .filter((m) => m.is_final)
        .map((m) => m.channel.alternatives[0].transcript)
        .join(" ");
      pairs.push({ reference: clip.reference, hypothesis });
    }
    const result = wordErrorRate(pairs);
    console.log(`[local] WER ${(result.rate * 100).toFixed(1)} % (${result.errors}/${result.words})`);
    expect(result.rate).toBeLessThanOrEqual(0.4);
  });
});
