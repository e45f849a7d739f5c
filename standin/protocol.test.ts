import { describe, expect, test } from "bun:test";
import { RealtimeConnection, type StandinSession } from "./protocol.ts";
import { pcmChunks, sequence } from "./synth.ts";
import { DEFAULT_VAD } from "./vad.ts";

function connection() {
  const record: StandinSession = {
    id: "s",
    receivedAudioMs: 0,
    receivedBytes: 0,
    commits: 0,
    transcripts: [],
    open: true,
    authorized: true,
  };
  const sent: { type: string }[] = [];
  const c = new RealtimeConnection(record, DEFAULT_VAD, {
    send: (event) => sent.push(event),
    terminate: () => {},
    takeItemFault: () => undefined,
    deltaGapMs: 0,
    schedule: (run) => run(),
  });
  return { c, record, sent };
}

describe("append events", () => {
  // 400 ms of tone then 800 ms of silence: one turn for the VAD, whichever way the events are written.
  const audio = pcmChunks(sequence([{ ms: 400, hz: 200 }, { ms: 800 }])).map((chunk) => Buffer.from(chunk).toString("base64"));
  const forms: Record<string, (b64: string, i: number) => string> = {
    "written by hand, as the transcriber does": (b64) => `{"type":"input_audio_buffer.append","audio":"${b64}"}`,
    "with an event_id first": (b64, i) => JSON.stringify({ event_id: `e${i}`, type: "input_audio_buffer.append", audio: b64 }),
    "with whitespace": (b64) => `{ "type": "input_audio_buffer.append", "audio": "${b64}" }`,
    // JSON may escape "/" in a string; only the general parser undoes that.
    "with escaped slashes": (b64) => `{"type":"input_audio_buffer.append","audio":"${b64.replaceAll("/", "\\/")}"}`,
  };

  test.each(Object.keys(forms))("%s: every byte counted, the same turn found", (form) => {
    const { c, record, sent } = connection();
    audio.forEach((b64, i) => c.receive(forms[form]!(b64, i)));
    expect(record.receivedBytes).toBe(audio.reduce((sum, b64) => sum + Buffer.from(b64, "base64").length, 0));
    expect(sent.filter((e) => e.type === "error")).toEqual([]);
    const started = sent.filter((e) => e.type === "input_audio_buffer.speech_started") as unknown as { audio_start_ms: number }[];
    expect(started.map((e) => e.audio_start_ms)).toEqual([0]);
    expect(sent.some((e) => e.type === "input_audio_buffer.committed")).toBe(true);
  });

  test("an append without audio is still refused by name", () => {
    const { c, sent } = connection();
    c.receive(`{"type":"input_audio_buffer.append"}`);
    expect(sent.at(-1)).toMatchObject({ type: "error", error: { code: "missing_required_parameter", param: "audio" } });
  });
});
