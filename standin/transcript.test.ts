import { expect, test } from "bun:test";
import type { CommittedItem } from "./buffer.ts";
import { deltasOf, parseTranscript, transcriptOf } from "./transcript.ts";

const item = (over: Partial<CommittedItem>): CommittedItem => ({
  itemId: "item_1",
  previousItemId: null,
  startMs: 0,
  endMs: 1500,
  voicedMs: 0,
  pitchHz: undefined,
  ...over,
});

test("states voiced duration and pitch, rounded to 10", () => {
  expect(transcriptOf(item({ voicedMs: 996, pitchHz: 218.7 }))).toBe("1000 ms of speech at 220 hz");
});

test("says noise when loud audio had no pitch, silence when nothing was loud", () => {
  expect(transcriptOf(item({ voicedMs: 420 }))).toBe("420 ms of noise");
  expect(transcriptOf(item({ startMs: 200, endMs: 704 }))).toBe("500 ms of silence");
});

test("parses its own transcripts back and rejects anything else", () => {
  expect(parseTranscript("1000 ms of speech at 220 hz")).toEqual({ kind: "speech", ms: 1000, hz: 220 });
  expect(parseTranscript("500 ms of silence")).toEqual({ kind: "silence", ms: 500 });
  expect(parseTranscript("hello world")).toBeUndefined();
  expect(parseTranscript("500 ms of silence at 100 hz")).toBeUndefined();
});

test("deltas are words that concatenate back to the transcript", () => {
  const deltas = deltasOf("700 ms of speech at 440 hz");
  expect(deltas).toEqual(["700", " ms", " of", " speech", " at", " 440", " hz"]);
  expect(deltas.join("")).toBe("700 ms of speech at 440 hz");
});
