import { describe, expect, test } from "bun:test";
import { estimatePitchHz } from "./pitch.ts";
import { voiced } from "./synth.ts";

const RATE = 24_000;

function pureTone(hz: number, ms: number): Int16Array {
  return Int16Array.from({ length: (ms * RATE) / 1000 }, (_, i) => Math.round(10_000 * Math.sin((2 * Math.PI * hz * i) / RATE)));
}

describe("estimatePitchHz", () => {
  test.each([80, 110, 220, 333, 440, 880, 990])("finds a pure %d Hz tone within 2 Hz", (hz) => {
    expect(Math.abs(estimatePitchHz(pureTone(hz, 200), RATE)! - hz)).toBeLessThan(2);
  });

  test.each([120, 210, 300])("finds the fundamental of a voice-like %d Hz burst, not a harmonic", (hz) => {
    expect(Math.abs(estimatePitchHz(voiced(300, hz), RATE)! - hz)).toBeLessThan(2);
  });

  test("reports no pitch for noise", () => {
    let seed = 42;
    const noise = Int16Array.from({ length: 4800 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 20_000) - 10_000);
    expect(estimatePitchHz(noise, RATE)).toBeUndefined();
  });

  test("reports no pitch for silence or too little audio", () => {
    expect(estimatePitchHz(new Int16Array(4800), RATE)).toBeUndefined();
    expect(estimatePitchHz(pureTone(200, 10), RATE)).toBeUndefined();
  });
});
