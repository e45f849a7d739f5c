/**
 * Audio kept per upstream connection until its transcript is delivered, so a replacement connection can
 * hear it again after a drop. Positions are sample indexes on that connection's own timeline.
 */

/** A bounded run of PCM chunks ending at the newest sample appended. */
export class ReplayBuffer {
  #chunks: Int16Array[] = [];
  /** Index of the first kept sample. */
  #startSample = 0;
  #endSample = 0;
  readonly #maxSamples: number;

  constructor(maxSamples: number) {
    this.#maxSamples = maxSamples;
  }

  /** Keeps `chunk`; drops the oldest chunks past the bound (that audio can no longer be replayed). */
  push(chunk: Int16Array): void {
    this.#chunks.push(chunk);
    this.#endSample += chunk.length;
    while (this.#endSample - this.#startSample > this.#maxSamples && this.#chunks.length > 1) {
      this.#startSample += this.#chunks.shift()!.length;
    }
  }

  /** Forgets whole chunks that end at or before `sample`. */
  forgetBefore(sample: number): void {
    while (this.#chunks.length > 0 && this.#startSample + this.#chunks[0]!.length <= sample) {
      this.#startSample += this.#chunks.shift()!.length;
    }
  }

  /** The kept audio from `sample` on (or from the oldest kept sample), and where it starts. */
  from(sample: number): { startSample: number; chunks: Int16Array[] } {
    const chunks: Int16Array[] = [];
    let at = this.#startSample;
    for (const chunk of this.#chunks) {
      const end = at + chunk.length;
      if (end > sample) chunks.push(at >= sample ? chunk : chunk.subarray(sample - at));
      at = end;
    }
    return { startSample: Math.max(sample, this.#startSample), chunks };
  }
}
