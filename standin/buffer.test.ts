import { describe, expect, test } from "bun:test";
import { InputAudioBuffer, type BufferEvent, type CommittedItem } from "./buffer.ts";
import { pcmChunks, sequence, type Segment } from "./synth.ts";
import { DEFAULT_VAD, type VadOptions } from "./vad.ts";

function feed(buffer: InputAudioBuffer, segments: Segment[], chunkMs = 20): BufferEvent[] {
  return pcmChunks(sequence(segments), chunkMs).flatMap((c) => buffer.append(c));
}

/** VAD timestamps are whole 10 ms windows, so a burst edge lands at most one window off. */
function expectWithin(actual: number, expected: number, toleranceMs: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(toleranceMs);
}

/** The item of the first `committed` event (fails the test when there is none). */
function committedItem(events: BufferEvent[]): CommittedItem {
  const found = events.find((e) => e.type === "committed");
  if (!found) throw new Error(`no committed event in ${events.map((e) => e.type).join(", ")}`);
  return found.item;
}

const newBuffer = (vad: VadOptions | null = { ...DEFAULT_VAD, prefixPaddingMs: 0 }) => {
  let n = 0;
  return new InputAudioBuffer(vad, () => `item_${++n}`);
};

describe("server VAD", () => {
  test("reports each burst's start and end, then commits it with its voiced length and pitch", () => {
    const events = feed(newBuffer(), [{ ms: 300 }, { ms: 1000, hz: 220 }, { ms: 800 }, { ms: 700, hz: 440 }, { ms: 800 }]);
    expect(events.map((e) => e.type)).toEqual([
      "speech_started",
      "speech_stopped",
      "committed",
      "speech_started",
      "speech_stopped",
      "committed",
    ]);
    const [s1, e1, c1, s2, e2, c2] = events as [any, any, any, any, any, any];
    expectWithin(s1.audioStartMs, 300, 10);
    expectWithin(e1.audioEndMs, 1300, 10);
    expectWithin(s2.audioStartMs, 2100, 10);
    expectWithin(e2.audioEndMs, 2800, 10);
    expect(c1.item).toMatchObject({ itemId: "item_1", previousItemId: null });
    expect(c2.item).toMatchObject({ itemId: "item_2", previousItemId: "item_1" });
    expect(Math.abs(c1.item.voicedMs - 1000)).toBeLessThanOrEqual(20);
    expect(Math.abs(c2.item.voicedMs - 700)).toBeLessThanOrEqual(20);
    expect(Math.abs(c1.item.pitchHz - 220)).toBeLessThan(3);
    expect(Math.abs(c2.item.pitchHz - 440)).toBeLessThan(3);
  });

  test("speech_started includes the prefix padding, but not before the buffer start", () => {
    const events = feed(newBuffer(DEFAULT_VAD), [{ ms: 1000 }, { ms: 500, hz: 200 }, { ms: 600 }, { ms: 100 }, { ms: 300, hz: 200 }]);
    const starts = events.filter((e) => e.type === "speech_started") as { audioStartMs: number }[];
    expectWithin(starts[0]!.audioStartMs, 700, 10);
    // Second onset at 2200; the previous item ended at ~1500 so the padded start (1900) is allowed.
    expectWithin(starts[1]!.audioStartMs, 1900, 10);
  });

  test("a pause shorter than silence_duration_ms does not end the turn", () => {
    const events = feed(newBuffer(), [{ ms: 400, hz: 150 }, { ms: 300 }, { ms: 400, hz: 150 }, { ms: 600 }]);
    expect(events.filter((e) => e.type === "committed")).toHaveLength(1);
    const committed = events.find((e) => e.type === "committed") as { item: { voicedMs: number } };
    expect(Math.abs(committed.item.voicedMs - 1100)).toBeLessThanOrEqual(20);
  });

  test("ignores odd chunk sizes: timing comes from the audio, not from how it was cut", () => {
    const events = feed(newBuffer(), [{ ms: 250 }, { ms: 500, hz: 300 }, { ms: 600 }], 7.3);
    const started = events.find((e) => e.type === "speech_started") as { audioStartMs: number };
    expectWithin(started.audioStartMs, 250, 10);
  });
});

describe("client commit and clear", () => {
  test("a commit takes everything buffered, mid-speech too, and the turn goes on as a new item", () => {
    const buffer = newBuffer();
    feed(buffer, [{ ms: 200 }, { ms: 400, hz: 250 }]);
    expect(buffer.bufferedMs()).toBeCloseTo(600, 0);
    const first = committedItem(buffer.commit());
    expect(first).toMatchObject({ startMs: 0, endMs: 600 });
    expectWithin(first.voicedMs, 400, 20);
    const second = committedItem(feed(buffer, [{ ms: 300, hz: 250 }, { ms: 600 }]));
    expect(second.previousItemId).toBe(first.itemId);
    expectWithin(second.voicedMs, 300, 20);
  });

  test("with VAD off, nothing commits until the client does", () => {
    const buffer = newBuffer(null);
    expect(feed(buffer, [{ ms: 500, hz: 180 }, { ms: 1000 }])).toEqual([]);
    const item = committedItem(buffer.commit());
    expectWithin(item.voicedMs, 500, 20);
    expectWithin(item.pitchHz!, 180, 2);
  });

  test("clear drops the buffer and the turn in progress", () => {
    const buffer = newBuffer();
    feed(buffer, [{ ms: 300, hz: 200 }]);
    buffer.clear();
    expect(buffer.bufferedMs()).toBe(0);
    expect(feed(buffer, [{ ms: 700 }])).toEqual([]);
  });
});
