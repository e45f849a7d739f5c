import { expect, test } from "bun:test";
import { results, speechStarted, utteranceEnd } from "./protocol.ts";
import { ReplayDedupe } from "./replay-dedupe.ts";

test("a replayed turn already delivered is dropped, interim and final, and so is its UtteranceEnd", () => {
  const dedupe = new ReplayDedupe();
  expect(dedupe.isRepeat(results("a", 1600, 2400, false))).toBe(false);
  expect(dedupe.isRepeat(results("a", 1600, 2500, true))).toBe(false);
  expect(dedupe.isRepeat(utteranceEnd(2500))).toBe(false);
  // Replay: the stalled first turn is new; the second turn comes again with slightly different VAD edges.
  expect(dedupe.isRepeat(results("b", 0, 900, true))).toBe(false);
  expect(dedupe.isRepeat(results("a", 1580, 2000, false))).toBe(true);
  expect(dedupe.isRepeat(results("a", 1580, 2520, true))).toBe(true);
  expect(dedupe.isRepeat(utteranceEnd(2520))).toBe(true);
  expect(dedupe.isRepeat(speechStarted(1600))).toBe(false);
});

test("finals recorded from a connection that is not replaying are delivered even when their spans overlap", () => {
  const dedupe = new ReplayDedupe();
  // A CloseStream commit raced the VAD: its item's span covers the last turn, whose final comes after it.
  dedupe.record(results("690 ms of silence", 2500, 4800, true));
  dedupe.record(results("910 ms of speech", 3200, 4110, true));
  // A later replay of that last turn is still recognised as a repeat.
  expect(dedupe.isRepeat(results("910 ms of speech", 3190, 4120, true))).toBe(true);
});
