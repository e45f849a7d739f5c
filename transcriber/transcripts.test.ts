import { describe, expect, test } from "bun:test";
import { results, speechStarted, utteranceEnd } from "./protocol.ts";
import { confidenceOf, TranscriptTracker } from "./transcripts.ts";

const alt = (text: string) => ({ alternatives: [expect.objectContaining({ transcript: text })] });

/** A VAD turn `itemId` from `startMs` to `endMs`, committed by the upstream. */
function vadTurn(tracker: TranscriptTracker, itemId: string, startMs: number, endMs: number): void {
  tracker.handle({ type: "input_audio_buffer.speech_started", item_id: itemId, audio_start_ms: startMs, event_id: "e" });
  tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: itemId, audio_end_ms: endMs, event_id: "e" });
  tracker.handle({ type: "input_audio_buffer.committed", item_id: itemId, event_id: "e" });
}

/** `itemId`'s transcript completed upstream, the text being its id. */
function completed(tracker: TranscriptTracker, itemId: string) {
  return tracker.handle({
    type: "conversation.item.input_audio_transcription.completed",
    item_id: itemId,
    transcript: itemId,
    event_id: "e",
  } as never);
}

describe("TranscriptTracker", () => {
  test("maps a server-VAD turn to SpeechStarted, cumulative interim Results, a final and UtteranceEnd", () => {
    const tracker = new TranscriptTracker(0);
    expect(tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "i1", audio_start_ms: 500, event_id: "e" })).toEqual([
      speechStarted(500),
    ]);
    expect(tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: "i1", audio_end_ms: 1750, event_id: "e" })).toEqual([]);
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "i1", event_id: "e" });
    expect(tracker.outstanding).toBe(1);
    const d1 = tracker.handle({ type: "conversation.item.input_audio_transcription.delta", item_id: "i1", delta: "hello", event_id: "e" });
    const d2 = tracker.handle({ type: "conversation.item.input_audio_transcription.delta", item_id: "i1", delta: " world", event_id: "e" });
    expect(d1).toEqual([results("hello", 500, 1750, false)]);
    expect(d2[0]).toMatchObject({ is_final: false, channel: alt("hello world") });
    const done = tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "i1",
      transcript: "hello world.",
      event_id: "e",
      content_index: 0,
    } as never);
    expect(done).toEqual([results("hello world.", 500, 1750, true), utteranceEnd(1750)]);
    expect(tracker.outstanding).toBe(0);
  });

  test("places times on the session timeline with the connection's offset", () => {
    const tracker = new TranscriptTracker(60_000);
    expect(tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "i", audio_start_ms: 100, event_id: "e" })).toEqual([
      speechStarted(60100),
    ]);
  });

  test("a manual commit's item spans the audio since the previous commit", () => {
    const tracker = new TranscriptTracker(1000);
    tracker.noteManualCommit(800);
    expect(tracker.outstanding).toBe(1);
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "m1", event_id: "e" });
    tracker.noteManualCommit(1200);
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "m2", event_id: "e" });
    tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "m1",
      transcript: "w",
      event_id: "e",
    } as never);
    const [final] = tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "m2",
      transcript: "x",
      event_id: "e",
    } as never);
    expect(final).toMatchObject({ is_final: true, start: 1.8, duration: 0.4 });
    expect(tracker.uncommittedMs(1500)).toBe(300);
  });

  test("a commit sent before the VAD's turn end arrived starts where that turn ended, whatever order the finals come in", () => {
    // CloseStream's commit goes out at 1400 ms while the upstream is still to report that its VAD ended a turn at
    // 700 ms: the upstream commits that turn first, so our item holds only 700-1400.
    const tracker = new TranscriptTracker(0);
    tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "vad", audio_start_ms: 0, event_id: "e" });
    tracker.noteManualCommit(1400);
    tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: "vad", audio_end_ms: 700, event_id: "e" });
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "vad", event_id: "e" });
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "ours", event_id: "e" });
    // Ours completes first, and waits for the VAD's turn, committed before it.
    expect(completed(tracker, "ours")).toEqual([]);
    const [vadFinal, vadEnd, ourFinal, ourEnd] = completed(tracker, "vad");
    expect(vadFinal).toMatchObject({ is_final: true, start: 0, duration: 0.7, channel: alt("vad") });
    expect(vadEnd).toEqual(utteranceEnd(700));
    expect(ourFinal).toMatchObject({ is_final: true, start: 0.7, duration: 0.7, channel: alt("ours") });
    expect(ourEnd).toEqual(utteranceEnd(1400));
    expect(tracker.outstanding).toBe(0);
  });

  test("finals go out in commit order: a later item's waits, its interims are not sent meanwhile, and a failure releases it", () => {
    const tracker = new TranscriptTracker(0);
    const delta = (itemId: string) =>
      tracker.handle({ type: "conversation.item.input_audio_transcription.delta", item_id: itemId, delta: itemId, event_id: "e" });
    vadTurn(tracker, "a", 0, 1000);
    vadTurn(tracker, "b", 1500, 2000);
    vadTurn(tracker, "c", 2500, 3000);
    expect(delta("b")).toEqual([]);
    expect(completed(tracker, "b")).toEqual([]);
    expect(tracker.outstanding).toBe(2); // b is transcribed, only held
    expect(tracker.replayFromMs()).toBe(0);
    expect(delta("a")).toEqual([results("a", 0, 1000, false)]);
    const released = completed(tracker, "a");
    expect(released.filter((m) => m.type === "Results").map((m) => (m as { start: number }).start)).toEqual([0, 1.5]);
    expect(tracker.outstanding).toBe(1);
    expect(tracker.replayFromMs()).toBe(2500);
    // A later item waits behind c; c fails: its Error goes out, then what waited.
    vadTurn(tracker, "d", 3500, 4000);
    expect(completed(tracker, "d")).toEqual([]);
    const afterFailure = tracker.handle({
      type: "conversation.item.input_audio_transcription.failed",
      item_id: "c",
      error: { code: "x", message: "failed" },
      event_id: "e",
    } as never);
    expect(afterFailure.map((m) => m.type)).toEqual(["Error", "Results", "UtteranceEnd"]);
    expect(afterFailure[1]).toMatchObject({ start: 3.5, channel: alt("d") });
    expect(tracker.outstanding).toBe(0);
  });

  test("releaseHeld hands over the held finals in order and leaves the earlier item outstanding", () => {
    const tracker = new TranscriptTracker(0);
    for (const [itemId, startMs] of [
      ["a", 0],
      ["b", 1000],
      ["c", 2000],
    ] as const)
      vadTurn(tracker, itemId, startMs, startMs + 500);
    for (const itemId of ["c", "b"]) completed(tracker, itemId);
    const released = tracker.releaseHeld().filter((m) => m.type === "Results");
    expect(released.map((m) => (m as { start: number }).start)).toEqual([1, 2]);
    expect(tracker.releaseHeld()).toEqual([]);
    expect(tracker.outstanding).toBe(1);
  });

  test("hides the empty-commit error that follows our own Finalize, but reports other errors and failures", () => {
    const tracker = new TranscriptTracker(0);
    tracker.noteManualCommit(500);
    const emptyCommit = {
      type: "error",
      event_id: "e",
      error: { type: "invalid_request_error", code: "input_audio_buffer_commit_empty", message: "buffer too small" },
    };
    expect(tracker.handle(emptyCommit)).toEqual([]);
    expect(tracker.outstanding).toBe(0);
    expect(tracker.handle(emptyCommit)).toEqual([{ type: "Error", code: "input_audio_buffer_commit_empty", message: "buffer too small" }]);
    expect(
      tracker.handle({
        type: "conversation.item.input_audio_transcription.failed",
        item_id: "i",
        content_index: 0,
        event_id: "e",
        error: { code: "bad", message: "nope" },
      }),
    ).toEqual([{ type: "Error", code: "bad", message: "nope" }]);
  });

  test("replays from the start of the earliest item without a transcript", () => {
    const tracker = new TranscriptTracker(0);
    tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "a", audio_start_ms: 300, event_id: "e" });
    tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: "a", audio_end_ms: 900, event_id: "e" });
    expect(tracker.replayFromMs()).toBe(300);
    tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "a",
      transcript: "t",
      event_id: "e",
    } as never);
    expect(tracker.replayFromMs()).toBe(900);
  });
});

describe("trailing silence", () => {
  test("after the VAD ends a turn, the rest of the buffer is not worth a manual commit until speech starts again", () => {
    const tracker = new TranscriptTracker(0);
    expect(tracker.worthCommitting).toBe(true);
    tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "a", audio_start_ms: 100, event_id: "e" });
    expect(tracker.worthCommitting).toBe(true);
    tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: "a", audio_end_ms: 900, event_id: "e" });
    expect(tracker.worthCommitting).toBe(false);
    tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "b", audio_start_ms: 1500, event_id: "e" });
    expect(tracker.worthCommitting).toBe(true);
  });
});

describe("Deepgram shape", () => {
  test("a final carries channel_index, words spread over its span, confidence and the session's metadata", () => {
    const context = { requestId: "req-1", modelName: "gpt-4o-transcribe", arch: "openai" };
    const tracker = new TranscriptTracker(0, context);
    tracker.handle({ type: "input_audio_buffer.speech_started", item_id: "a", audio_start_ms: 1000, event_id: "e" });
    tracker.handle({ type: "input_audio_buffer.speech_stopped", item_id: "a", audio_end_ms: 2000, event_id: "e" });
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "a", event_id: "e" });
    const [final] = tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "a",
      transcript: "Hi, there!",
      event_id: "e",
    } as never);
    expect(final).toMatchObject({
      type: "Results",
      channel_index: [0, 1],
      is_final: true,
      speech_final: true,
      from_finalize: false,
      start: 1,
      duration: 1,
      metadata: { request_id: "req-1", model_info: { name: "gpt-4o-transcribe", arch: "openai" } },
    });
    // 3 and 6 characters: the first word takes a third of the second.
    expect((final as any).channel.alternatives[0]).toEqual({
      transcript: "Hi, there!",
      confidence: 1,
      words: [
        { word: "hi", punctuated_word: "Hi,", start: 1, end: 1.333, confidence: 1 },
        { word: "there", punctuated_word: "there!", start: 1.333, end: 2, confidence: 1 },
      ],
    });
  });

  test("a final of the client's Finalize is from_finalize and not speech_final; one of CloseStream is neither", () => {
    const tracker = new TranscriptTracker(0);
    tracker.noteManualCommit(500, true);
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "f", event_id: "e" });
    tracker.noteManualCommit(900, false);
    tracker.handle({ type: "input_audio_buffer.committed", item_id: "c", event_id: "e" });
    const [finalize] = tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "f",
      transcript: "x",
      event_id: "e",
    } as never);
    const [close] = tracker.handle({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "c",
      transcript: "y",
      event_id: "e",
    } as never);
    expect(finalize).toMatchObject({ is_final: true, from_finalize: true, speech_final: false, start: 0, duration: 0.5 });
    expect(close).toMatchObject({ is_final: true, from_finalize: false, speech_final: false, start: 0.5, duration: 0.4 });
  });

  test("confidence comes from token log-probabilities when the upstream sends them", () => {
    expect(confidenceOf([{ logprob: Math.log(0.5) }, { logprob: Math.log(0.5) }])).toBe(0.5);
    expect(confidenceOf(undefined)).toBeUndefined();
    expect(confidenceOf([])).toBeUndefined();
  });
});
