import { describe, expect, test } from "bun:test";
import { ReplayBuffer } from "./replay.ts";

const chunk = (from: number, length: number) => Int16Array.from({ length }, (_, i) => from + i);

describe("ReplayBuffer", () => {
  test("returns the audio from a sample on, cutting into the chunk that holds it", () => {
    const buffer = new ReplayBuffer(1000);
    buffer.push(chunk(0, 10));
    buffer.push(chunk(10, 10));
    const { startSample, chunks } = buffer.from(15);
    expect(startSample).toBe(15);
    expect(chunks.flatMap((c) => [...c])).toEqual([15, 16, 17, 18, 19]);
  });

  test("forgets whole chunks before a delivered point and drops the oldest past its bound", () => {
    const buffer = new ReplayBuffer(25);
    buffer.push(chunk(0, 10));
    buffer.push(chunk(10, 10));
    buffer.forgetBefore(12);
    expect(buffer.from(0).startSample).toBe(10);
    buffer.push(chunk(20, 10));
    buffer.push(chunk(30, 10));
    expect(buffer.from(0).startSample).toBe(20);
    expect(buffer.from(0).chunks.flatMap((c) => [...c])[0]).toBe(20);
  });
});
