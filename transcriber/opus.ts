/**
 * Opus packets in, 24 kHz mono PCM out: the rate the Realtime API takes, so libopus resamples for free.
 * A packet that does not decode is replaced by packet-loss concealment of the same length, so the session
 * timeline (and every start/duration the client sees) keeps its length.
 */
import { createDecoder, type OpusDecoderHandle } from "libopus-wasm";

/** Output sample rate of every decoder here. */
export const PCM_RATE_HZ = 24_000;
/** Rates libopus decodes to. */
export type OpusRateHz = 8_000 | 12_000 | 16_000 | 24_000 | 48_000;
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
  #decoder: OpusDecoderHandle;
  #lastFrameSamples = DEFAULT_FRAME_SAMPLES;

  private constructor(decoder: OpusDecoderHandle) {
    this.#decoder = decoder;
  }

  /** Creates a decoder producing mono int16 at `rateHz` (24 kHz for OpenAI; the local recognizer takes 16 kHz). */
  static async create(rateHz: OpusRateHz = PCM_RATE_HZ): Promise<OpusStreamDecoder> {
    const decoder = new OpusStreamDecoder(await createDecoder({ sampleRate: rateHz, channels: 1 }));
    decoder.#lastFrameSamples = (rateHz * DEFAULT_FRAME_SAMPLES) / PCM_RATE_HZ;
    return decoder;
  }

  /**
   * Decodes one packet; never throws for bad input. The returned PCM is a copy the caller may keep: libopus-wasm
   * already copies it out of wasm memory, so copying again here would only double the work per frame.
   */
  decode(packet: Uint8Array): DecodedPacket {
    if (packet.length > 0) {
      try {
        const pcm = this.#decoder.decode(packet);
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
    return this.#decoder.decodePacketLoss(this.#lastFrameSamples);
  }

  /** Releases the wasm decoder; safe to call twice. */
  free(): void {
    try {
      this.#decoder.free();
    } catch {
      // Already freed: nothing to release.
    }
  }
}
