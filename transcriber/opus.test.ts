import { describe, expect, test } from "bun:test";
import { encodeOpusPackets, speechLikePcm48k } from "../test/audio.ts";
import { chooseOpusBuild, nativeOpusBuild, wasmOpusBuild } from "./opus-core.ts";
import { concatPcm, opusDecoderConformance } from "./opus-conformance.ts";
import { nativeOpusSkipReason } from "../test/opus-build.ts";
import { OPUS_LIBRARY } from "./opus-native.ts";
import { OpusStreamDecoder, PCM_RATE_HZ } from "./opus.ts";

// The native build needs Debian's libopus0 (CI installs it; under REQUIRE_ENGINE=1 its absence fails these cases).
opusDecoderConformance("libopus-wasm", wasmOpusBuild);
if (nativeOpusSkipReason) console.warn(`[skip] the native libopus cases: ${nativeOpusSkipReason}`);
else opusDecoderConformance("native libopus (bun:ffi)", async () => nativeOpusBuild());
const nativeTest = nativeOpusSkipReason ? test.skip : test;

describe("choosing the build (OPUS_DECODER)", () => {
  nativeTest("auto takes the native library here, and says nothing about a fallback", async () => {
    const { build, fallback } = await chooseOpusBuild("auto");
    expect(build.kind).toBe("native");
    expect(build.version).toMatch(/^libopus \d+\.\d+/);
    expect(fallback).toBeUndefined();
  });

  test("wasm is libopus-wasm, whatever is installed", async () => {
    const { build } = await chooseOpusBuild("wasm");
    expect(build.kind).toBe("wasm");
    expect(build.version).toMatch(/^libopus \d+\.\d+/);
  });

  test("auto falls back to libopus-wasm naming why; native refuses to start naming the library and the package", async () => {
    const missing = `${OPUS_LIBRARY} is missing (Debian: apt-get install -y libopus0)`;
    const { build, fallback } = await chooseOpusBuild("auto", () => missing);
    expect(build.kind).toBe("wasm");
    expect(fallback).toBe(missing);
    await expect(chooseOpusBuild("native", () => missing)).rejects.toThrow(`OPUS_DECODER=native: ${missing}`);
  });

  nativeTest("the two builds decode the same packets to the same sound (within 1 % of its energy)", async () => {
    const packets = await encodeOpusPackets(speechLikePcm48k({ pitchHz: 220, turns: [{ speechMs: 800, silenceMs: 200 }] }));
    const decodeAll = async (kind: "wasm" | "native") => {
      const decoder = await OpusStreamDecoder.create(PCM_RATE_HZ, kind === "wasm" ? await wasmOpusBuild() : nativeOpusBuild());
      const pcm = concatPcm(packets.map((p) => decoder.decode(p).pcm));
      decoder.free();
      return pcm;
    };
    const [wasm, native] = [await decodeAll("wasm"), await decodeAll("native")];
    expect(native.length).toBe(wasm.length);
    let signal = 0;
    let difference = 0;
    for (let i = 0; i < wasm.length; i++) {
      signal += wasm[i]! * wasm[i]!;
      difference += (wasm[i]! - native[i]!) ** 2;
    }
    expect(signal).toBeGreaterThan(0);
    expect(difference / signal).toBeLessThan(0.01);
  });
});
