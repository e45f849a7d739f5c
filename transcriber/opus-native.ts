/**
 * libopus as the system builds it (Debian's libopus0), through bun:ffi: the same decoder as libopus-wasm's,
 * compiled natively with the CPU's vector instructions, which decodes a 20 ms packet in about half the time here.
 * One library handle per process; one decoder state per session, freed by the caller.
 */
import { CString, dlopen, FFIType, type Pointer, ptr } from "bun:ffi";
import { existsSync } from "node:fs";
import type { OpusDecoderCore, OpusRateHz } from "./opus-core.ts";

/** Where Debian puts the library (and where the image carries it). */
export const OPUS_LIBRARY = "/usr/lib/x86_64-linux-gnu/libopus.so.0";
/** The Debian package that provides it, for messages. */
export const OPUS_PACKAGE = "libopus0";
/** The longest packet libopus decodes: 120 ms, at the highest rate it decodes to. */
const MAX_FRAME_SAMPLES = 5_760;

function openLibrary() {
  return dlopen(OPUS_LIBRARY, {
    opus_decoder_create: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.ptr },
    opus_decode: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    opus_decoder_destroy: { args: [FFIType.ptr], returns: FFIType.void },
    opus_strerror: { args: [FFIType.i32], returns: FFIType.ptr },
    opus_get_version_string: { args: [], returns: FFIType.ptr },
  }).symbols;
}

type Library = ReturnType<typeof openLibrary>;
let library: Library | undefined;
/**
 * Where every decoder writes its output: decoding is synchronous and each call copies out only what it wrote, so
 * one buffer serves all of them (instead of 11.5 KB per session).
 */
const scratch = new Int16Array(MAX_FRAME_SAMPLES);
const scratchPtr = ptr(scratch);
/** The last view handed out by decodeTransient: a stream's frames are nearly always one length, so it is reused. */
let transientView = scratch.subarray(0, 0);

/** Why the native library cannot be used here (missing, or it does not load), or undefined when it can. */
export function nativeOpusMissing(): string | undefined {
  if (!existsSync(OPUS_LIBRARY)) return `${OPUS_LIBRARY} is missing (Debian: apt-get install -y ${OPUS_PACKAGE})`;
  try {
    library ??= openLibrary();
    return undefined;
  } catch (error) {
    return `${OPUS_LIBRARY} does not load: ${(error as Error).message}`;
  }
}

function lib(): Library {
  const missing = nativeOpusMissing();
  if (missing) throw new Error(`native Opus decoder: ${missing}`);
  return library!;
}

/** The library's own version string, e.g. "libopus 1.3.1". */
export function nativeOpusVersion(): string {
  return new CString(lib().opus_get_version_string() as Pointer).toString();
}

/**
 * What the FROM-scratch image needs for the native decoder, as host paths copied to the same path: the library
 * and what `ldd` lists for it (the binary only dlopens it, so its own `ldd` does not).
 */
export async function nativeOpusImageFiles(ldd: (file: string) => Promise<string[]>): Promise<{ files: string[] } | { missing: string }> {
  if (!existsSync(OPUS_LIBRARY)) return { missing: `${OPUS_LIBRARY} is missing (Debian: apt-get install -y ${OPUS_PACKAGE})` };
  return { files: [...new Set([OPUS_LIBRARY, ...(await ldd(OPUS_LIBRARY))])] };
}

/** One native decoder state producing mono int16 at `rateHz`. */
export class NativeOpusDecoder implements OpusDecoderCore {
  readonly #lib: Library;
  #state: Pointer | null;

  constructor(rateHz: OpusRateHz) {
    this.#lib = lib();
    const error = new Int32Array(1);
    const state = this.#lib.opus_decoder_create(rateHz, 1, ptr(error)) as Pointer | null;
    if (!state || error[0] !== 0) throw new Error(`opus_decoder_create(${rateHz}, 1) failed: ${this.#reason(error[0]!)}`);
    this.#state = state;
  }

  decode(packet: Uint8Array): Int16Array {
    return scratch.slice(0, this.#run(packet, packet.length, MAX_FRAME_SAMPLES));
  }

  /** A view of the shared output buffer, no copy and (for a frame as long as the last) no new object. */
  decodeTransient(packet: Uint8Array): Int16Array {
    const decoded = this.#run(packet, packet.length, MAX_FRAME_SAMPLES);
    if (transientView.length !== decoded) transientView = scratch.subarray(0, decoded);
    return transientView;
  }

  conceal(samples: number): Int16Array {
    return scratch.slice(0, this.#run(null, 0, samples));
  }

  free(): void {
    if (this.#state === null) return;
    this.#lib.opus_decoder_destroy(this.#state);
    this.#state = null;
  }

  /** Decodes into the shared output buffer; returns the samples written. */
  #run(packet: Uint8Array | null, length: number, frameSamples: number): number {
    if (this.#state === null) throw new Error("Opus decoder has been freed");
    const decoded = this.#lib.opus_decode(this.#state, packet, length, scratchPtr, frameSamples, 0);
    if (decoded < 0) throw new Error(this.#reason(decoded));
    return decoded;
  }

  #reason(code: number): string {
    return new CString(this.#lib.opus_strerror(code) as Pointer).toString();
  }
}
