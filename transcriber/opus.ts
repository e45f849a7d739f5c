/**
 * Opus packets in, 24 kHz mono PCM out: the rate the Realtime API takes, so libopus resamples for free.
 * A packet that does not decode is replaced by packet-loss concealment of the same length, so the session
 * timeline (and every start/duration the client sees) keeps its length. The decoder state comes from either
 * build of libopus (opus-core.ts); libopus-wasm unless told otherwise.
 */
import { type OpusBuild, type OpusDecoderCore, type OpusRateHz, wasmOpusBuild } from "./opus-core.ts";

export type { OpusRateHz } from "./opus-core.ts";

/** Output sample rate of every decoder here. */
export const PCM_RATE_HZ = 24_000;
/** A 20 ms frame at 24 kHz: the concealment length before any good packet told us the real one. */
const DEFAULT_FRAME_SAMPLES = 480;

/** One decoded packet: `concealed` means the packet was bad and `pcm` is concealment. */
export interface DecodedPacket {
  pcm: Int16Array;
  concealed: boolean;
  error?: string;
}

/** Decodes one client's Opus stream; keeps decoder state between packets, as Opus requires. */
export class OpusStreamDecoder {
  #decoder: OpusDecoderCore;
  #lastFrameSamples = DEFAULT_FRAME_SAMPLES;

  private constructor(decoder: OpusDecoderCore) {
    this.#decoder = decoder;
  }

  /**
   * Creates a decoder producing mono int16 at `rateHz` (24 kHz for OpenAI; the local recognizer takes 16 kHz),
   * with `build`'s libopus (libopus-wasm when not given).
   */
  static async create(rateHz: OpusRateHz = PCM_RATE_HZ, build?: OpusBuild): Promise<OpusStreamDecoder> {
    const core = await (build ?? (await wasmOpusBuild())).create(rateHz);
    const decoder = new OpusStreamDecoder(core);
    decoder.#lastFrameSamples = (rateHz * DEFAULT_FRAME_SAMPLES) / PCM_RATE_HZ;
    return decoder;
  }

  /**
   * Decodes one packet; never throws for bad input. The returned PCM is a copy the caller may keep: both builds
   * already copy it out of their own buffers, so copying again here would only double the work per frame.
   */
  decode(packet: Uint8Array): DecodedPacket {
    return this.#decode(packet, false);
  }

  /**
   * Like `decode`, but the PCM may be the build's own output buffer, valid only until the next decode on any
   * decoder: for a caller that copies it at once (the session's batch), which saves a copy and an array per frame.
   */
  decodeTransient(packet: Uint8Array): DecodedPacket {
    return this.#decode(packet, true);
  }

  #decode(packet: Uint8Array, transient: boolean): DecodedPacket {
    if (packet.length > 0) {
      try {
        const pcm = transient ? this.#decoder.decodeTransient(packet) : this.#decoder.decode(packet);
        this.#lastFrameSamples = pcm.length;
        return { pcm, concealed: false };
      } catch (error) {
        return { pcm: this.conceal(), concealed: true, error: (error as Error).message };
      }
    }
    return { pcm: this.conceal(), concealed: true, error: "empty packet" };
  }

  /** Concealment for one lost packet, as long as the last good one. */
  conceal(): Int16Array {
    return this.#decoder.conceal(this.#lastFrameSamples);
  }

  /** Releases the decoder state; safe to call twice. */
  free(): void {
    this.#decoder.free();
  }
}
