import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStandin, type Standin } from "./server.ts";
import { pcmChunks, sequence } from "./synth.ts";
import { connect, type RecordingClient } from "./testing.ts";
import { parseTranscript } from "./transcript.ts";

let standin: Standin;
const clients: RecordingClient[] = [];
const open = (apiKey?: string) => {
  const c = connect(standin.baseUrl, standin.caPem, apiKey);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  standin = await startStandin({ apiKey: "test" });
});
afterAll(async () => {
  clients.forEach((c) => c.rt.close());
  await standin.close();
});

const within = (actual: number, expected: number, tolerance: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance);

/** Configures a session like the transcriber does, with `turn_detection` as given. */
async function configure(c: RecordingClient, turnDetection: object | null) {
  await c.waitFor("session.created");
  c.rt.send({
    type: "session.update",
    session: {
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: { model: "gpt-4o-transcribe", language: "en" },
          turn_detection: turnDetection as never,
        },
      },
    },
  });
  return c.waitFor("session.updated");
}

describe("through the real openai SDK", () => {
  test("server VAD finds each burst, and the transcripts state its duration and pitch", async () => {
    const c = open();
    const updated = await configure(c, { type: "server_vad", prefix_padding_ms: 0, silence_duration_ms: 500 });
    expect(updated.session).toMatchObject({
      type: "transcription",
      audio: { input: { transcription: { model: "gpt-4o-transcribe", language: "en" } } },
    });
    const bursts = [
      { startMs: 300, ms: 1000, hz: 220 },
      { startMs: 2100, ms: 700, hz: 440 },
    ];
    c.appendAll(pcmChunks(sequence([{ ms: 300 }, bursts[0]!, { ms: 800 }, bursts[1]!, { ms: 800 }])));

    const done = await c.waitForCount("conversation.item.input_audio_transcription.completed", bursts.length);
    const started = c.events.filter((e) => e.type === "input_audio_buffer.speech_started");
    const stopped = c.events.filter((e) => e.type === "input_audio_buffer.speech_stopped");
    bursts.forEach((b, i) => {
      within(started[i]!.audio_start_ms, b.startMs, 50);
      within(stopped[i]!.audio_end_ms, b.startMs + b.ms, 50);
      const heard = parseTranscript(done[i]!.transcript)!;
      expect(heard.kind).toBe("speech");
      within(heard.ms, b.ms, 20);
      expect(heard.hz).toBe(b.hz);
      expect(done[i]!.item_id).toBe(started[i]!.item_id);
    });
    // The deltas of an item spell its transcript.
    const deltas = c.events.filter((e) => e.type === "conversation.item.input_audio_transcription.delta" && e.item_id === done[0]!.item_id);
    expect(deltas.map((d) => ("delta" in d ? d.delta : "")).join("")).toBe(done[0]!.transcript);
    const committed = c.events.filter((e) => e.type === "input_audio_buffer.committed");
    expect(committed.map((e) => e.previous_item_id)).toEqual([null, done[0]!.item_id]);

    const record = standin.sessions().at(-1)!;
    within(record.receivedAudioMs, 3600, 36);
    expect(record).toMatchObject({ model: "gpt-4o-transcribe", language: "en", commits: 2, open: true, authorized: true });
    expect(record.transcripts).toEqual(done.map((d) => d.transcript));
  });

  test("default prefix padding moves speech_started 300 ms before the onset", async () => {
    const c = open();
    await configure(c, { type: "server_vad" });
    c.appendAll(pcmChunks(sequence([{ ms: 1000 }, { ms: 400, hz: 150 }, { ms: 600 }])));
    within((await c.waitFor("input_audio_buffer.speech_started")).audio_start_ms, 700, 50);
    const heard = parseTranscript((await c.waitFor("conversation.item.input_audio_transcription.completed")).transcript)!;
    within(heard.ms, 400, 20);
  });

  test("a client commit under 100 ms is refused; a longer one is transcribed, even with VAD off", async () => {
    const c = open();
    await configure(c, null);
    c.appendAll(pcmChunks(sequence([{ ms: 60, hz: 200 }])));
    c.rt.send({ type: "input_audio_buffer.commit" });
    expect((await c.nextError()).error).toMatchObject({ type: "invalid_request_error", code: "input_audio_buffer_commit_empty" });
    c.appendAll(pcmChunks(sequence([{ ms: 440, hz: 200 }, { ms: 200 }])));
    c.rt.send({ type: "input_audio_buffer.commit" });
    const done = await c.waitFor("conversation.item.input_audio_transcription.completed");
    expect(parseTranscript(done.transcript)).toMatchObject({ kind: "speech", hz: 200 });
    within(parseTranscript(done.transcript)!.ms, 500, 20);
    expect(c.events.some((e) => e.type === "input_audio_buffer.speech_started")).toBe(false);
  });

  test("bad JSON and unknown events get an error event and the connection stays usable", async () => {
    const c = open();
    await c.waitFor("session.created");
    c.rt.socket.send("{not json");
    expect((await c.nextError()).error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
    c.rt.socket.send(JSON.stringify({ type: "response.create", event_id: "evt_1" }));
    expect((await c.nextError()).error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_value",
      param: "type",
      event_id: "evt_1",
    });
    c.rt.send({ type: "input_audio_buffer.clear" });
    await c.waitFor("input_audio_buffer.cleared");
    expect(standin.sessions().at(-1)!.open).toBe(true);
  });

  test("a session.update with an unsupported format is refused and changes nothing", async () => {
    const c = open();
    await c.waitFor("session.created");
    c.rt.send({ type: "session.update", session: { type: "transcription", audio: { input: { format: { type: "audio/pcmu" } } } } });
    expect((await c.nextError()).error).toMatchObject({ code: "invalid_value", param: "session.audio.input.format.type" });
  });

  test("a wrong API key is refused with 401 before the upgrade", async () => {
    const c = open("wrong");
    const status = new Promise<number>((resolve) => c.rt.socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(await status).toBe(401);
    expect(standin.sessions().at(-1)).toMatchObject({ authorized: false, open: false, receivedBytes: 0 });
  });

  test("a client that does not trust the stand-in's CA cannot connect (self-signed)", async () => {
    const c = connect(standin.baseUrl, undefined);
    clients.push(c);
    const error = await c.nextError();
    expect(String((error as { cause?: unknown }).cause ?? error.message)).toMatch(/certificate/i);
  });
});

describe("fault injection", () => {
  async function turn(c: RecordingClient) {
    await configure(c, { type: "server_vad", prefix_padding_ms: 0 });
    c.appendAll(pcmChunks(sequence([{ ms: 300, hz: 250 }, { ms: 600 }])));
    return c.waitFor("input_audio_buffer.committed");
  }

  test("error: the next item's transcription fails with conversation.item.input_audio_transcription.failed", async () => {
    standin.failNext("error");
    const c = open();
    const committed = await turn(c);
    const failed = await c.waitFor("conversation.item.input_audio_transcription.failed");
    expect(failed.item_id).toBe(committed.item_id);
    expect(c.events.some((e) => e.type === "conversation.item.input_audio_transcription.completed")).toBe(false);
  });

  test("stall: the item is committed but never transcribed, and the socket stays open", async () => {
    standin.failNext("stall");
    const c = open();
    await turn(c);
    await Bun.sleep(200);
    expect(c.events.some((e) => e.type.startsWith("conversation.item.input_audio_transcription"))).toBe(false);
    expect(standin.sessions().at(-1)!.open).toBe(true);
  });

  test("drop: the connection is cut right after the commit", async () => {
    standin.failNext("drop");
    const c = open();
    await turn(c);
    expect(await c.closed).toBe(1006);
  });

  test("reject: the next connection gets 503 before the upgrade", async () => {
    const res = await fetch(`${standin.baseUrl}/standin/fail?kind=reject`, { method: "POST", tls: { ca: standin.caPem } });
    expect(res.status).toBe(200);
    const c = open();
    const status = new Promise<number>((resolve) => c.rt.socket.on("unexpected-response", (_req, r) => resolve(r.statusCode ?? 0)));
    expect(await status).toBe(503);
  });
});

describe("HTTP", () => {
  test("GET /v1/standin/sessions lists the sessions; unknown paths are 404", async () => {
    const res = await fetch(`${standin.baseUrl}/standin/sessions`, { tls: { ca: standin.caPem } });
    expect(res.status).toBe(200);
    const listed = (await res.json()) as { id: string }[];
    expect(listed.map((s) => s.id)).toEqual(standin.sessions().map((s) => s.id));
    expect((await fetch(`${standin.baseUrl}/nope`, { tls: { ca: standin.caPem } })).status).toBe(404);
  });
});
