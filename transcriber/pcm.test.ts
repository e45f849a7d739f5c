import { describe, expect, test } from "bun:test";
import { Linear16Converter } from "./pcm.ts";

function le16(samples: number[]): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((s, i) => view.setInt16(i * 2, s, true));
  return bytes;
}

describe("Linear16Converter", () => {
  test("passes 24 kHz mono through unchanged, even when a sample is split across messages", () => {
    const converter = new Linear16Converter(24_000, 1);
    const bytes = le16([1, -2, 300, -32768]);
    const first = converter.push(bytes.subarray(0, 3));
    const rest = converter.push(bytes.subarray(3));
    expect([...first, ...rest]).toEqual([1, -2, 300, -32768]);
  });

  test("converts to another output rate when asked (the local recognizer's 16 kHz): 48 kHz in, a third of the samples out", () => {
    const converter = new Linear16Converter(48_000, 1, 16_000);
    const ramp = Array.from({ length: 4800 }, (_, i) => i);
    const out = [...converter.push(le16(ramp.slice(0, 2400))), ...converter.push(le16(ramp.slice(2400)))];
    expect(Math.abs(out.length - 1600)).toBeLessThanOrEqual(1);
    // A ramp stays a ramp: every third input sample.
    expect(out.slice(0, 4)).toEqual([0, 3, 6, 9]);
    expect(new Linear16Converter(16_000, 1, 16_000).push(le16([5, 6]))).toEqual(Int16Array.from([5, 6]));
  });

  test("downmixes stereo by averaging the channels", () => {
    const converter = new Linear16Converter(24_000, 2);
    expect([...converter.push(le16([100, 300, -100, -300]))]).toEqual([200, -200]);
  });

  test("resamples 48 kHz to half as many samples and 16 kHz to 1.5 times as many, without drift across frames", () => {
    const down = new Linear16Converter(48_000, 1);
    const up = new Linear16Converter(16_000, 1);
    let downCount = 0;
    let upCount = 0;
    for (let frame = 0; frame < 50; frame++) {
      downCount += down.push(le16(Array.from({ length: 960 }, (_, i) => i))).length;
      upCount += up.push(le16(Array.from({ length: 320 }, (_, i) => i))).length;
    }
    expect(Math.abs(downCount - 50 * 480)).toBeLessThanOrEqual(1);
    expect(Math.abs(upCount - 50 * 480)).toBeLessThanOrEqual(2);
  });

  test("interpolates linearly between input samples", () => {
    const converter = new Linear16Converter(12_000, 1);
    expect([...converter.push(le16([0, 100, 200]))]).toEqual([0, 50, 100, 150]);
  });
});
