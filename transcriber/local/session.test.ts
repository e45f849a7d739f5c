/**
 * LocalSession's protocol logic with a scripted recognizer (the real pocketsphinx runs in local.test.ts):
 * when interims, finals, SpeechStarted and UtteranceEnd go out, their times, and the recognizer's return.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import type { ClientMessage } from "../protocol.ts";
import { type Recognizer, RecognizerFailedError } from "./recognizer.ts";
import { LocalSession, type LocalSessionOptions } from "./session.ts";

/** Speech from `speechFromMs` to `speechToMs` of fed audio; the hypothesis is one word per 100 ms of speech. */
class ScriptedRecognizer implements Recognizer {
  fedMs = 0;
  utteranceStartMs = 0;
  utterances = 0;
  freed = false;
  constructor(
    private readonly speechFromMs: number,
    private readonly speechToMs: number,
  ) {}
  startUtterance(): void {
    this.utteranceStartMs = this.fedMs;
    this.utterances++;
  }
  process(pcm: Int16Array): void {
    this.fedMs += pcm.length / 16;
  }
  get inSpeech(): boolean {
    return this.fedMs > this.speechFromMs && this.fedMs <= this.speechToMs + 500;
  }
  hypothesis(): string {
    const heardMs = Math.min(this.fedMs, this.speechToMs) - Math.max(this.utteranceStartMs, this.speechFromMs);
    return Array.from({ length: Math.max(0, Math.floor(heardMs / 100)) }, (_, i) => `w${i}`).join(" ");
  }
  endUtterance(): void {}
  free(): void {
    this.freed = true;
  }
}

function harness(recognizer: Recognizer, options: Partial<LocalSessionOptions> = {}) {
  const messages: ClientMessage[] = [];
  const closes: number[] = [];
  const released: Recognizer[] = [];
  const session = new LocalSession({
    input: (frame) => ({ pcm: new Int16Array(frame.length / 2), concealed: frame.length === 0, error: "empty packet" }),
    recognizer,
    release: (r) => released.push(r),
    send: (m) => messages.push(m),
    close: (code) => closes.push(code),
    log: pino({ level: "silent" }),
    ...options,
  });
  /** `ms` of audio in 20 ms frames (16 kHz: 640 bytes each). */
  const feed = (ms: number) => {
    for (let i = 0; i < ms / 20; i++) session.onBinary(new Uint8Array(640));
  };
  return { session, messages, closes, released, feed };
}

describe("LocalSession", () => {
  test("speech then silence: SpeechStarted, interims as the words grow, one final and UtteranceEnd on the timeline", () => {
    const { messages, feed } = harness(new ScriptedRecognizer(1000, 2000));
    feed(3000);
    const types = messages.map((m) => m.type);
    expect(types[0]).toBe("SpeechStarted");
    expect(messages[0]).toEqual({ type: "SpeechStarted", channel: [0, 1], timestamp: 0.9 });
    const interims = messages.filter((m) => m.type === "Results" && !m.is_final);
    const finals = messages.filter((m) => m.type === "Results" && m.is_final);
    expect(interims.length).toBeGreaterThanOrEqual(5);
    // Each interim differs from the one before (an unchanged hypothesis is not repeated).
    const texts = interims.map((m) => (m as any).channel.alternatives[0].transcript);
    expect(new Set(texts).size).toBe(texts.length);
    expect(finals).toHaveLength(1);
    // Ended when the endpointer fell at 2.6 s, 0.5 s after the speech it heard: 0.9 s .. 2.1 s.
    expect(finals[0]).toMatchObject({ start: 0.9, duration: 1.2, speech_final: true });
    expect(messages.at(-1)).toEqual({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.1 });
  });

  test("silence only: no Results; Finalize then sends nothing either", () => {
    const { session, messages, feed } = harness(new ScriptedRecognizer(10_000, 11_000));
    feed(1000);
    session.finalize();
    expect(messages).toEqual([]);
  });

  test("Finalize mid-speech ends the utterance there; CloseStream closes 1000 and returns the recognizer once", async () => {
    const recognizer = new ScriptedRecognizer(0, 5000);
    const { session, messages, closes, released, feed } = harness(recognizer);
    feed(1000);
    session.onText(JSON.stringify({ type: "Finalize" }));
    const finals = messages.filter((m) => m.type === "Results" && m.is_final);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ start: 0, duration: 1, from_finalize: true, speech_final: false });
    expect(recognizer.utterances).toBe(2);
    feed(500);
    session.onText(JSON.stringify({ type: "CloseStream" }));
    await session.closeStream();
    expect(closes).toEqual([1000]);
    expect(messages.filter((m) => m.type === "Results" && m.is_final)).toHaveLength(2);
    expect(messages.filter((m) => m.type === "Results" && m.is_final).at(-1)).toMatchObject({ from_finalize: false });
    // The closing Metadata, as Deepgram sends it, is the last message: 1.5 s of audio heard.
    expect(messages.at(-1)).toMatchObject({ type: "Metadata", duration: 1.5, channels: 1 });
    session.dispose();
    expect(released).toEqual([recognizer]);
  });

  test("an engine failure while decoding: Error recognizer_failed, close 1011, the recognizer returned once", () => {
    const recognizer = new ScriptedRecognizer(0, 1000);
    recognizer.process = () => {
      throw new RecognizerFailedError("pocketsphinx could not process audio (ps_process_raw)");
    };
    const { messages, closes, released, feed } = harness(recognizer);
    feed(200);
    expect(messages).toEqual([
      { type: "Error", code: "recognizer_failed", message: "pocketsphinx could not process audio (ps_process_raw)" },
    ]);
    expect(closes).toEqual([1011]);
    expect(released).toEqual([recognizer]);
  });

  test("an undecodable frame: one bad_audio Error, not one per frame", () => {
    const { session, messages } = harness(new ScriptedRecognizer(10_000, 11_000));
    for (let i = 0; i < 5; i++) session.onBinary(new Uint8Array(0));
    expect(messages.filter((m) => m.type === "Error")).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: "Error", code: "bad_audio" });
  });

  test("Deepgram's switches: without interim_results, vad_events and utterance_end_ms only finals go out", () => {
    const features = { interimResults: false, speechStarted: false, utteranceEnd: false };
    const { messages, feed } = harness(new ScriptedRecognizer(1000, 2000), { features });
    feed(3000);
    expect(messages.map((m) => (m.type === "Results" ? `Results/${m.is_final}` : m.type))).toEqual(["Results/true"]);
  });

  test("endpointing=false: silence ends no utterance; the words come as one final at Finalize", () => {
    const { session, messages, feed } = harness(new ScriptedRecognizer(0, 1000), { endpointing: false });
    feed(3000);
    expect(messages.filter((m) => m.type === "Results" && m.is_final)).toHaveLength(0);
    session.finalize();
    expect(messages.filter((m) => m.type === "Results" && m.is_final)).toHaveLength(1);
  });

  test("the transcriber stops: the last final, then Error container_stopped and 1012, never 1000", async () => {
    const recognizer = new ScriptedRecognizer(0, 5000);
    const { session, messages, closes, released, feed } = harness(recognizer);
    feed(1000);
    await session.shutDown();
    const types = messages.map((m) => m.type);
    expect(types.slice(-2)).toEqual(["Metadata", "Error"]);
    expect(types.lastIndexOf("Results")).toBeLessThan(types.indexOf("Metadata")); // the final came first
    expect(messages.at(-1)).toMatchObject({ type: "Error", code: "container_stopped" });
    expect(closes).toEqual([1012]);
    expect(released).toEqual([recognizer]);
  });
});
