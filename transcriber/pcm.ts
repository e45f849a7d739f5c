/**
 * `encoding=linear16` input: 16-bit little-endian PCM at any rate and channel count, turned into 24 kHz mono.
 * The resampler is linear and keeps its phase across frames, so frame boundaries add no clicks or drift.
 */
import { PCM_RATE_HZ } from "./opus.ts";

/** Converts one client's linear16 stream to mono int16 (24 kHz unless told otherwise). */
export class Linear16Converter {
  readonly #inputRateHz: number;
  readonly #channels: number;
  readonly #outputRateHz: number;
  /** Position of the next output sample, in input samples, relative to the current frame's first sample. */
  #position = 0;
  /** The previous frame's last mono sample, so interpolation can reach back across the frame boundary. */
  #previous = 0;
  /** A trailing odd byte or partial multi-channel frame, kept for the next message. */
  #leftover = new Uint8Array(0);

  /** `outputRateHz`: 24 kHz for OpenAI; the local recognizer takes 16 kHz. */
  constructor(inputRateHz: number, channels: number, outputRateHz: number = PCM_RATE_HZ) {
    this.#inputRateHz = inputRateHz;
    this.#channels = channels;
    this.#outputRateHz = outputRateHz;
  }

  /** Converts one binary message; returns the 24 kHz mono samples it completes. */
  push(bytes: Uint8Array): Int16Array {
    const data = this.#leftover.length > 0 ? concat(this.#leftover, bytes) : bytes;
    const frameBytes = 2 * this.#channels;
    const frames = Math.floor(data.length / frameBytes);
    this.#leftover = data.slice(frames * frameBytes);
    const mono = downmix(data, frames, this.#channels);
    return this.#inputRateHz === this.#outputRateHz ? mono : this.#resample(mono);
  }

  #resample(mono: Int16Array): Int16Array {
    const step = this.#inputRateHz / this.#outputRateHz;
    const out: number[] = [];
    // Index -1 is the previous frame's last sample; output positions lie in [-1, mono.length - 1).
    let position = this.#position;
    while (position < mono.length - 1) {
      const base = Math.floor(position);
      const fraction = position - base;
      const a = base < 0 ? this.#previous : mono[base]!;
      const b = mono[base + 1]!;
      out.push(Math.round(a + (b - a) * fraction));
      position += step;
    }
    if (mono.length > 0) {
      this.#previous = mono[mono.length - 1]!;
      this.#position = position - mono.length;
    }
    return Int16Array.from(out);
  }
}

function downmix(data: Uint8Array, frames: number, channels: number): Int16Array {
  const view = new DataView(data.buffer, data.byteOffset, frames * 2 * channels);
  const mono = new Int16Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++) sum += view.getInt16((frame * channels + channel) * 2, true);
    mono[frame] = Math.round(sum / channels);
  }
  return mono;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
