/**
 * The conformance suite of the Opus decoder seam: what the transcriber needs of either build of libopus,
 * through OpusStreamDecoder (the sizes at both rates, the pitch kept, concealment for bad or empty packets,
 * freeing). Each build's own test calls it.
 */
import { describe, expect, test } from "bun:test";
import { encodeOpusPackets, speechLikePcm48k } from "../test/audio.ts";
import type { OpusBuild } from "./opus-core.ts";
import { OpusStreamDecoder, PCM_RATE_HZ } from "./opus.ts";

/** Pitch by zero crossings: enough for a pure tone. */
function zeroCrossingHz(pcm: Int16Array, rateHz: number): number {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if (pcm[i - 1]! < 0 !== pcm[i]! < 0) crossings++;
  return (crossings / 2) * (rateHz / pcm.length);
}

/** The frames one after another. */
export function concatPcm(parts: Int16Array[]): Int16Array {
  return new Int16Array(Bun.concatArrayBuffers(parts));
}

/** Runs the suite against `build` (made once, before the first case). */
export function opusDecoderConformance(name: string, build: () => Promise<OpusBuild>): void {
  describe(`Opus decoder conformance: ${name}`, () => {
    test("at 16 kHz (the local recognizer's rate): 320 samples per 20 ms packet, the pitch kept, concealment as long", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 440, turns: [{ speechMs: 1000, silenceMs: 0 }] }));
      const decoder = await OpusStreamDecoder.create(16_000, await build());
      expect(decoder.decode(new Uint8Array(0)).pcm.length).toBe(320); // before any good packet
      const decoded = packets.map((p) => decoder.decode(p));
      expect(decoded.every((d) => d.pcm.length === 320 && !d.concealed)).toBe(true);
      const middle = concatPcm(decoded.map((d) => d.pcm)).subarray(16_000 / 5, (16_000 * 4) / 5);
      expect(Math.abs(zeroCrossingHz(middle, 16_000) - 440)).toBeLessThan(15);
      decoder.free();
    });

    test("decodes 20 ms packets of a 48 kHz stream into 480 samples at 24 kHz and keeps the pitch", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 440, turns: [{ speechMs: 1000, silenceMs: 0 }] }));
      const decoder = await OpusStreamDecoder.create(PCM_RATE_HZ, await build());
      const decoded = packets.map((p) => decoder.decode(p));
      expect(decoded.every((d) => d.pcm.length === 480 && !d.concealed)).toBe(true);
      // Skip the codec's start-up and the fade: the steady middle carries the tone.
      const middle = concatPcm(decoded.map((d) => d.pcm)).subarray(PCM_RATE_HZ / 5, (PCM_RATE_HZ * 4) / 5);
      expect(Math.abs(zeroCrossingHz(middle, PCM_RATE_HZ) - 440)).toBeLessThan(15);
      decoder.free();
    });

    test("every decoded frame is a copy the caller may keep", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 300, turns: [{ speechMs: 200, silenceMs: 0 }] }));
      const decoder = await OpusStreamDecoder.create(PCM_RATE_HZ, await build());
      const first = decoder.decode(packets[3]!).pcm;
      const kept = first.slice();
      decoder.decode(packets[4]!);
      decoder.conceal();
      expect(first).toEqual(kept);
      decoder.free();
    });

    test("decodeTransient gives the samples decode gives, frame by frame", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 300, turns: [{ speechMs: 400, silenceMs: 100 }] }));
      const copying = await OpusStreamDecoder.create(PCM_RATE_HZ, await build());
      const transient = await OpusStreamDecoder.create(PCM_RATE_HZ, await build());
      for (const packet of packets) {
        const expected = copying.decode(packet).pcm;
        const got = transient.decodeTransient(packet);
        expect(got.concealed).toBe(false);
        expect(got.pcm).toEqual(expected);
      }
      copying.free();
      transient.free();
    });

    test("conceals a packet that is not Opus with a frame of the same length and goes on decoding", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 300, turns: [{ speechMs: 200, silenceMs: 0 }] }));
      const decoder = await OpusStreamDecoder.create(PCM_RATE_HZ, await build());
      decoder.decode(packets[0]!);
      const bad = decoder.decode(new Uint8Array([0xff, 0xff, 0xff]));
      expect(bad.concealed).toBe(true);
      expect(bad.error).toContain("corrupted");
      expect(bad.pcm.length).toBe(480);
      const empty = decoder.decode(new Uint8Array(0));
      expect(empty.concealed).toBe(true);
      expect(empty.pcm.length).toBe(480);
      const next = decoder.decode(packets[1]!);
      expect(next.concealed).toBe(false);
      expect(next.pcm.length).toBe(480);
      decoder.free();
    });

    test("free is safe twice, and a freed decoder throws instead of touching freed state", async () => {
      const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 300, turns: [{ speechMs: 100, silenceMs: 0 }] }));
      const core = await (await build()).create(PCM_RATE_HZ);
      expect(core.decode(packets[0]!).length).toBe(480);
      core.free();
      core.free();
      expect(() => core.decode(packets[1]!)).toThrow();
    });
  });
}
