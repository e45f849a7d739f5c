/** PCM at any rate to 20 ms Opus packets at 48 kHz: a streaming resampler and the framing for libopus. */
import { createEncoder } from "libopus-wasm";

export const OPUS_RATE = 48_000;
export const FRAME_SAMPLES = 960; // 20 ms at 48 kHz

/**
 * Linear-interpolation resampler that keeps its position across blocks, so block boundaries leave no seams.
 * Good enough for speech at the usual rates (8-48 kHz); it does not low-pass before downsampling.
 */
export class Resampler {
  private readonly step: number;
  private position = 0; // in input samples, relative to the current block; -1 is the previous block's last
  private previous = 0;

  constructor(fromRate: number, toRate = OPUS_RATE) {
    this.step = fromRate / toRate;
  }

  push(input: Float32Array): Float32Array {
    if (this.step === 1) return input;
    const out: number[] = [];
    const last = input.length - 1;
    while (this.position <= last) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      const a = i < 0 ? this.previous : input[i]!;
      const b = frac === 0 ? a : input[i + 1]!;
      out.push(a + (b - a) * frac);
      this.position += this.step;
    }
    this.position -= input.length;
    this.previous = input[last] ?? this.previous;
    return Float32Array.from(out);
  }
}

/** Encodes mono float blocks (any rate) into 20 ms Opus packets; the last frame is zero-padded. */
export async function* opusPackets(blocks: AsyncIterable<Float32Array>, sampleRate: number): AsyncGenerator<Uint8Array> {
  const encoder = await createEncoder({ sampleRate: OPUS_RATE, channels: 1 });
  const resampler = new Resampler(sampleRate);
  const frame = new Float32Array(FRAME_SAMPLES);
  let filled = 0;
  try {
    for await (const block of blocks) {
      const samples = resampler.push(block);
      for (let at = 0; at < samples.length; ) {
        const take = Math.min(FRAME_SAMPLES - filled, samples.length - at);
        frame.set(samples.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === FRAME_SAMPLES) {
          // Copy: the encoder reuses its output buffer.
          yield new Uint8Array(encoder.encodeFloat(frame));
          filled = 0;
        }
      }
    }
    if (filled > 0) {
      frame.fill(0, filled);
      yield new Uint8Array(encoder.encodeFloat(frame));
    }
  } finally {
    encoder.free();
  }
}

/** Milliseconds of audio in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
export function packetDurationMs(packet: Uint8Array): number {
  const toc = packet[0] ?? 0;
  const config = toc >> 3;
  const frameMs = config < 12 ? [10, 20, 40, 60][config % 4]! : config < 16 ? [10, 20][config % 2]! : [2.5, 5, 10, 20][config % 4]!;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f;
  return frameMs * frames;
}
