import { describe, expect, test } from "bun:test";
import pino from "pino";
import { encodeOpusPackets, speechLikePcm48k } from "../test/audio.ts";
import { pollUntil } from "../test/wait.ts";
import { answerCommits, FakeUpstreams } from "./fake-upstream.ts";
import { OpusStreamDecoder } from "./opus.ts";
import { type ClientMessage, results, speechStarted, utteranceEnd } from "./protocol.ts";
import { TranscriptionSession, type AudioInput } from "./session.ts";

/** PCM input of `n` ms per frame at 24 kHz, so tests count audio exactly. */
const pcmInput: AudioInput = (frame) => ({ pcm: new Int16Array(frame.buffer, frame.byteOffset, frame.length / 2), concealed: false });
const frameMs = (ms: number) => new Uint8Array(ms * 48).fill(1);
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

function harness(overrides: Partial<ConstructorParameters<typeof TranscriptionSession>[0]> = {}, autoOpen = true) {
  const upstreams = new FakeUpstreams();
  upstreams.autoOpen = autoOpen;
  const messages: ClientMessage[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const session = new TranscriptionSession({
    input: pcmInput,
    connect: upstreams.factory,
    model: "gpt-4o-transcribe",
    language: "en",
    realtimeSessionMaxMs: 60_000,
    send: (message) => messages.push(message),
    close: (code, reason) => closes.push({ code, reason }),
    log: pino({ level: "silent" }),
    reconnectBaseMs: 1,
    ...overrides,
  });
  return { upstreams, messages, closes, session };
}

describe("TranscriptionSession", () => {
  test("configures a server-VAD transcription session, then appends audio in 80 ms batches", async () => {
    const { upstreams, session } = harness();
    await tick();
    for (let i = 0; i < 10; i++) session.onBinary(frameMs(20));
    const [update, ...appends] = upstreams.last.sent;
    expect(update).toEqual({
      type: "session.update",
      session: {
        type: "transcription",
        audio: {
          input: {
            format: { type: "audio/pcm", rate: 24_000 },
            transcription: { model: "gpt-4o-transcribe", language: "en" },
            turn_detection: { type: "server_vad" },
          },
        },
      },
    });
    expect(appends.length).toBe(2);
    expect(upstreams.last.audioMs()).toBe(160);
    session.dispose();
  });

  test("holds audio while connecting and sends it in order once open", async () => {
    const { upstreams, session } = harness({}, false);
    const connection = upstreams.last;
    for (let i = 0; i < 8; i++) session.onBinary(frameMs(20));
    expect(connection.sent).toEqual([]);
    connection.open();
    expect(connection.sent[0]?.type).toBe("session.update");
    expect(connection.audioMs()).toBe(160);
    session.dispose();
  });

  test("a packet that is not Opus gives one bad_audio Error per burst and concealment, and the stream goes on", async () => {
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 220, turns: [{ speechMs: 400, silenceMs: 0 }] }));
    const decoder = await OpusStreamDecoder.create();
    const { upstreams, messages, session } = harness({ input: (frame) => decoder.decode(frame) });
    await tick();
    const garbage = new Uint8Array([0xff, 0xff, 0xff]);
    const stream = [...packets.slice(0, 5), garbage, garbage, garbage, ...packets.slice(5)];
    for (const packet of stream) session.onBinary(packet);
    session.finalize();
    const errors = messages.filter((m) => m.type === "Error");
    expect(errors).toEqual([{ type: "Error", code: "bad_audio", message: expect.stringContaining("corrupted") }]);
    expect(session.receivedMs).toBe(stream.length * 20);
    expect(upstreams.last.audioMs()).toBe(stream.length * 20);
    session.dispose();
    decoder.free();
  });

  test("Finalize commits only with at least 100 ms buffered, and its final spans the committed audio", async () => {
    const { upstreams, messages, session } = harness();
    await tick();
    answerCommits(upstreams.last);
    session.onBinary(frameMs(60));
    session.finalize();
    expect(upstreams.last.commits()).toBe(0);
    session.onBinary(frameMs(60));
    session.finalize();
    expect(upstreams.last.commits()).toBe(1);
    await tick();
    expect(messages).toEqual([
      results("partial", 0, 120, false),
      results("1", 0, 120, true, { speechFinal: false, fromFinalize: true }),
      utteranceEnd(120),
    ]);
    session.dispose();
  });

  test("bad control messages get an Error and the session continues; KeepAlive is silent", async () => {
    const { messages, closes, session } = harness();
    session.onText("{nope");
    session.onText(JSON.stringify({ type: "Shout" }));
    session.onText(JSON.stringify({ type: "KeepAlive", pad: "x".repeat(5000) }));
    session.onText(JSON.stringify({ type: "KeepAlive" }));
    expect(messages.map((m) => m.type === "Error" && m.code)).toEqual(["bad_message", "bad_message", "bad_message"]);
    expect(closes).toEqual([]);
    session.dispose();
  });

  test("CloseStream sends the outstanding finals before closing 1000", async () => {
    const { upstreams, messages, closes, session } = harness();
    await tick();
    const connection = upstreams.last;
    session.onBinary(frameMs(500));
    session.onText(JSON.stringify({ type: "CloseStream" }));
    expect(connection.commits()).toBe(1);
    await tick(20);
    expect(closes).toEqual([]);
    connection.emit({ type: "input_audio_buffer.committed", item_id: "a", event_id: "e" });
    connection.emit({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "a",
      transcript: "bye",
      event_id: "e",
    } as never);
    await tick();
    expect(messages.at(-3)).toMatchObject({ type: "Results", is_final: true, duration: 0.5 });
    expect(messages.at(-1)).toMatchObject({ type: "Metadata", duration: 0.5 });
    expect(closes).toEqual([{ code: 1000, reason: "stream closed" }]);
    expect(connection.closed).toBe(true);
  });

  test("CloseStream gives up waiting after closeWaitMs", async () => {
    const { closes, session } = harness({ closeWaitMs: 50 });
    await tick();
    session.onBinary(frameMs(500));
    const started = Date.now();
    await session.closeStream();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(closes).toEqual([{ code: 1000, reason: "stream closed" }]);
  });

  test("a final held behind a turn whose transcript never comes still goes out, before the closing Metadata, once CloseStream stops waiting", async () => {
    const { upstreams, messages, closes, session } = harness({ closeWaitMs: 50 });
    await tick();
    const connection = upstreams.last;
    session.onBinary(frameMs(500));
    // CloseStream commits while the VAD's turn is open; the upstream then ends that turn at 300 ms, before our
    // commit, and never sends its transcript, while our commit's (300-500 ms) comes at once.
    connection.emit({ type: "input_audio_buffer.speech_started", item_id: "vad", audio_start_ms: 0, event_id: "e" });
    const closing = session.closeStream();
    expect(connection.commits()).toBe(1);
    connection.emit({ type: "input_audio_buffer.speech_stopped", item_id: "vad", audio_end_ms: 300, event_id: "e" });
    connection.emit({ type: "input_audio_buffer.committed", item_id: "vad", event_id: "e" });
    connection.emit({ type: "input_audio_buffer.committed", item_id: "ours", event_id: "e" });
    connection.emit({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "ours",
      transcript: "tail",
      event_id: "e",
    } as never);
    expect(messages.filter((m) => m.type === "Results")).toEqual([]); // held behind the VAD's turn
    await closing;
    const types = messages.map((m) => m.type);
    expect(types.indexOf("Results")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("Results")).toBeLessThan(types.lastIndexOf("Metadata"));
    expect(messages.find((m) => m.type === "Results")).toMatchObject({ is_final: true, start: 0.3, duration: 0.2 });
    expect(closes).toEqual([{ code: 1000, reason: "stream closed" }]);
  });

  test("rotation moves new audio to a fresh connection, finalizes the old one, and keeps the timeline", async () => {
    const { upstreams, messages, session } = harness({ realtimeSessionMaxMs: 50 });
    await tick();
    const first = upstreams.last;
    answerCommits(first);
    session.onBinary(frameMs(400));
    await tick(70);
    expect(upstreams.connections.length).toBe(2);
    const second = upstreams.last;
    expect(first.commits()).toBe(1);
    await tick();
    expect(first.closed).toBe(true);
    session.onBinary(frameMs(400));
    second.emit({ type: "input_audio_buffer.speech_started", item_id: "s", audio_start_ms: 100, event_id: "e" });
    expect(first.audioMs() + second.audioMs()).toBe(800);
    expect(messages.at(-1)).toEqual(speechStarted(500));
    session.dispose();
  });

  test("after a rotation, the new connection's finals wait for the old one's last", async () => {
    const { upstreams, messages, session } = harness({ realtimeSessionMaxMs: 50 });
    await tick();
    const first = upstreams.last;
    session.onBinary(frameMs(400));
    await tick(70);
    const second = upstreams.last;
    expect(first.commits()).toBe(1); // the old connection's tail, still being transcribed
    session.onBinary(frameMs(400));
    second.emit({ type: "input_audio_buffer.speech_started", item_id: "n", audio_start_ms: 0, event_id: "e" });
    second.emit({ type: "input_audio_buffer.speech_stopped", item_id: "n", audio_end_ms: 200, event_id: "e" });
    second.emit({ type: "input_audio_buffer.committed", item_id: "n", event_id: "e" });
    second.emit({ type: "conversation.item.input_audio_transcription.completed", item_id: "n", transcript: "new", event_id: "e" } as never);
    expect(messages.filter((m) => m.type === "Results")).toEqual([]);
    first.emit({ type: "input_audio_buffer.committed", item_id: "o", event_id: "e" });
    first.emit({ type: "conversation.item.input_audio_transcription.completed", item_id: "o", transcript: "old", event_id: "e" } as never);
    await tick();
    const finals = messages.filter((m): m is Extract<ClientMessage, { type: "Results" }> => m.type === "Results");
    expect(finals.map((m) => [m.channel.alternatives[0]!.transcript, m.start])).toEqual([
      ["old", 0],
      ["new", 0.4],
    ]);
    expect(first.closed).toBe(true);
    session.dispose();
  });

  test("after a drop it reconnects and replays the audio not yet transcribed", async () => {
    const { upstreams, messages, session } = harness();
    await tick();
    const first = upstreams.last;
    session.onBinary(frameMs(320));
    first.emit({ type: "input_audio_buffer.speech_started", item_id: "a", audio_start_ms: 80, event_id: "e" });
    first.emit({ type: "input_audio_buffer.speech_stopped", item_id: "a", audio_end_ms: 160, event_id: "e" });
    first.emit({ type: "input_audio_buffer.committed", item_id: "a", event_id: "e" });
    first.emit({ type: "conversation.item.input_audio_transcription.completed", item_id: "a", transcript: "t", event_id: "e" } as never);
    first.emit({ type: "input_audio_buffer.speech_started", item_id: "b", audio_start_ms: 240, event_id: "e" });
    first.drop("network");
    session.onBinary(frameMs(160));
    await tick(10);
    const second = upstreams.last;
    expect(upstreams.connections.length).toBe(2);
    // From the end of the last transcribed turn (160 ms) on: 160 ms replayed plus 160 ms new.
    expect(second.audioMs()).toBe(160 + 160);
    // The replayed turn starts again at 0.24 s: the client already heard that; a later turn is new.
    second.emit({ type: "input_audio_buffer.speech_started", item_id: "c", audio_start_ms: 80, event_id: "e" });
    second.emit({ type: "input_audio_buffer.speech_started", item_id: "d", audio_start_ms: 200, event_id: "e" });
    expect(messages.filter((m) => m.type === "SpeechStarted")).toEqual([speechStarted(80), speechStarted(240), speechStarted(360)]);
    session.dispose();
  });

  test("gives up with upstream_failed and close 1014 when connections keep failing", async () => {
    const { upstreams, messages, closes, session } = harness({ maxReconnects: 3 }, false);
    upstreams.onConnection = (connection) => queueMicrotask(() => connection.drop("refused"));
    session.onBinary(frameMs(100));
    upstreams.last.drop("refused");
    await tick(100);
    expect(upstreams.connections.length).toBeGreaterThanOrEqual(4);
    expect(messages.at(-1)).toMatchObject({ type: "Error", code: "upstream_failed" });
    expect(closes).toEqual([{ code: 1014, reason: "upstream failed" }]);
  });

  test("a refused key (HTTP 401) gives up at once with upstream_failed and 1014; a refusal retrying can fix (503) is retried", async () => {
    const refused = harness({ reconnectBaseMs: 1 }, false);
    refused.session.onBinary(frameMs(100));
    refused.upstreams.last.refuse(401);
    await tick(20);
    expect(refused.upstreams.connections).toHaveLength(1);
    expect(refused.messages.at(-1)).toMatchObject({ type: "Error", code: "upstream_failed" });
    expect(refused.closes).toEqual([{ code: 1014, reason: "upstream failed" }]);

    const busy = harness({ reconnectBaseMs: 1 }, false);
    busy.session.onBinary(frameMs(100));
    busy.upstreams.last.refuse(503);
    await tick(20);
    expect(busy.upstreams.connections).toHaveLength(2);
    expect(busy.closes).toEqual([]);
    busy.session.dispose();
  });

  test("a backed-up upstream holds audio, then drops the oldest with a backpressure Error instead of growing", async () => {
    const { upstreams, messages, session } = harness();
    await tick();
    upstreams.last.buffered = 10_000_000;
    for (let i = 0; i < 60; i++) session.onBinary(frameMs(1_000));
    expect(upstreams.last.audioMs()).toBe(0);
    expect(messages.some((m) => m.type === "Error" && m.code === "backpressure")).toBe(true);
    upstreams.last.buffered = 0;
    await tick(50);
    const sentMs = upstreams.last.audioMs();
    expect(sentMs).toBeGreaterThan(0);
    expect(sentMs).toBeLessThan(60_000);
    session.dispose();
  });

  test("a connection that never opens times out and is retried", async () => {
    const { upstreams, session } = harness({ connectTimeoutMs: 20 }, false);
    session.onBinary(frameMs(160));
    // The retry follows the 20 ms timeout; on a loaded machine the timer fires late, so wait for it.
    await pollUntil(() => upstreams.connections.length >= 2, "the retried connection");
    expect(upstreams.connections.length).toBe(2);
    expect(upstreams.connections[0]!.closed).toBe(true);
    upstreams.last.open();
    expect(upstreams.last.audioMs()).toBe(160);
    session.dispose();
  });
});

describe("Deepgram's optional messages and closing Metadata", () => {
  /** One server-VAD turn with a delta and its final, as the upstream reports it. */
  function turn(connection: FakeUpstreams["last"]): void {
    connection.emit({ type: "input_audio_buffer.speech_started", item_id: "t", audio_start_ms: 0, event_id: "e" });
    connection.emit({ type: "input_audio_buffer.speech_stopped", item_id: "t", audio_end_ms: 200, event_id: "e" });
    connection.emit({ type: "input_audio_buffer.committed", item_id: "t", event_id: "e" });
    connection.emit({ type: "conversation.item.input_audio_transcription.delta", item_id: "t", delta: "so", event_id: "e" } as never);
    connection.emit({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "t",
      transcript: "so",
      event_id: "e",
    } as never);
  }

  test("without interim_results, vad_events and utterance_end_ms only finals are sent", async () => {
    const { upstreams, messages, session } = harness({ features: { interimResults: false, speechStarted: false, utteranceEnd: false } });
    await tick();
    session.onBinary(frameMs(200));
    turn(upstreams.last);
    expect(messages.map((m) => (m.type === "Results" ? `Results/${m.is_final}` : m.type))).toEqual(["Results/true"]);
    session.dispose();
  });

  test("with all three asked for, SpeechStarted, the interim, the final and UtteranceEnd are sent", async () => {
    const { upstreams, messages, session } = harness({ features: { interimResults: true, speechStarted: true, utteranceEnd: true } });
    await tick();
    session.onBinary(frameMs(200));
    turn(upstreams.last);
    expect(messages.map((m) => (m.type === "Results" ? `Results/${m.is_final}` : m.type))).toEqual([
      "SpeechStarted",
      "Results/false",
      "Results/true",
      "UtteranceEnd",
    ]);
    session.dispose();
  });

  test("endpointing sets the server VAD's silence, and false turns the VAD off", async () => {
    for (const [endpointingMs, expected] of [
      [300, { type: "server_vad", silence_duration_ms: 300 }],
      [false, null],
    ] as const) {
      const { upstreams, session } = harness({ endpointingMs });
      await tick();
      expect((upstreams.last.sent[0] as any).session.audio.input.turn_detection).toEqual(expected);
      session.dispose();
    }
  });

  test("CloseStream ends with Deepgram's Metadata: request id, audio duration, channels, sha256 of the audio", async () => {
    const context = { requestId: "r-9", modelName: "whisper-1", arch: "openai" };
    const { upstreams, messages, closes, session } = harness({ context, channels: 2, echo: { tags: ["t1"], extra: { k: "v" } } });
    await tick();
    // Answered like a server, so CloseStream's flush completes instead of waiting out its 5 s bound.
    answerCommits(upstreams.last);
    const frame = frameMs(300);
    session.onBinary(frame);
    await session.closeStream();
    const metadata = messages.at(-1) as any;
    expect(metadata).toMatchObject({
      type: "Metadata",
      transaction_key: "deprecated",
      request_id: "r-9",
      duration: 0.3,
      channels: 2,
      tags: ["t1"],
      extra: { k: "v" },
    });
    expect(metadata.sha256).toBe(new Bun.CryptoHasher("sha256").update(frame).digest("hex"));
    expect(Date.parse(metadata.created)).toBeGreaterThan(Date.now() - 60_000);
    expect(Object.values(metadata.model_info)).toEqual([{ name: "whisper-1", version: "unknown", arch: "openai" }]);
    expect(metadata.models).toEqual(Object.keys(metadata.model_info));
    expect(closes).toEqual([{ code: 1000, reason: "stream closed" }]);
  });
});
