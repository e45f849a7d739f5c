/**
 * The Opus decoder seam: one libopus decoder state, from either build of libopus the transcriber can use (the
 * system's native library through bun:ffi, or libopus-wasm), and the choice between them (OPUS_DECODER).
 * Both pass the same conformance suite (opus-conformance.ts).
 */
import { createDecoder, loadLibopus } from "libopus-wasm";
import { NativeOpusDecoder, nativeOpusMissing, nativeOpusVersion } from "./opus-native.ts";

/** Rates libopus decodes to. */
export type OpusRateHz = 8_000 | 12_000 | 16_000 | 24_000 | 48_000;

/** One decoder state, mono int16 out. Every returned array is a copy the caller may keep. */
export interface OpusDecoderCore {
  /** Decodes one non-empty packet; throws an Error with libopus's reason when it is not valid Opus. */
  decode(packet: Uint8Array): Int16Array;
  /**
   * Decodes like `decode` into memory the build may reuse: the samples are valid only until the next call on any
   * decoder, for a caller that copies them at once (the transcriber's batch) and so needs no copy of its own.
   */
  decodeTransient(packet: Uint8Array): Int16Array;
  /** Packet-loss concealment for one lost packet of `samples` samples. */
  conceal(samples: number): Int16Array;
  /** Releases the state; safe to call twice. */
  free(): void;
}

/** A build of libopus: what the logs and /health name, and how to make a decoder with it. */
export interface OpusBuild {
  kind: "native" | "wasm";
  /** libopus's own version string, e.g. "libopus 1.3.1". */
  version: string;
  create(rateHz: OpusRateHz): Promise<OpusDecoderCore>;
}

/** OPUS_DECODER: `auto` takes the native library when it loads, libopus-wasm otherwise. */
export type OpusDecoderSetting = "auto" | "native" | "wasm";

/** libopus-wasm: runs wherever Bun does, with no system library. */
export async function wasmOpusBuild(): Promise<OpusBuild> {
  const { version } = await loadLibopus();
  return {
    kind: "wasm",
    version,
    async create(rateHz) {
      const decoder = await createDecoder({ sampleRate: rateHz, channels: 1 });
      let freed = false;
      return {
        // libopus-wasm copies the samples out of wasm memory itself.
        decode: (packet) => decoder.decode(packet),
        decodeTransient: (packet) => decoder.decode(packet),
        conceal: (samples) => decoder.decodePacketLoss(samples),
        free() {
          if (!freed) decoder.free();
          freed = true;
        },
      };
    },
  };
}

/**
 * The system's libopus through bun:ffi; throws naming the library and the package when it is not there (`missing`:
 * why it cannot load, as nativeOpusMissing() says).
 */
export function nativeOpusBuild(missing = nativeOpusMissing()): OpusBuild {
  if (missing) throw new Error(`OPUS_DECODER=native: ${missing}`);
  return { kind: "native", version: nativeOpusVersion(), create: async (rateHz) => new NativeOpusDecoder(rateHz) };
}

/** The build OPUS_DECODER asks for; `auto` says why it fell back, for the start-up log. */
export async function chooseOpusBuild(
  setting: OpusDecoderSetting,
  nativeMissing: () => string | undefined = nativeOpusMissing,
): Promise<{ build: OpusBuild; fallback?: string }> {
  if (setting === "wasm") return { build: await wasmOpusBuild() };
  const missing = nativeMissing();
  if (setting === "native" || !missing) return { build: nativeOpusBuild(missing) };
  return { build: await wasmOpusBuild(), fallback: missing };
}
