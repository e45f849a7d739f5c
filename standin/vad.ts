/**
 * Energy-based server VAD, fed one fixed window of audio at a time. Not a speech model: a window is loud
 * when its RMS passes a threshold, speech starts after a short run of loud windows, and ends after
 * `silenceDurationMs` without one. Deterministic, so tests can predict its timestamps to the window.
 */

/** The `server_vad` turn-detection parameters, with OpenAI's defaults. */
export interface VadOptions {
  /** 0..1 like OpenAI's; mapped to an RMS level by {@link rmsThresholdOf}. */
  threshold: number;
  /** Audio before the detected onset that belongs to the item (and to `audio_start_ms`). */
  prefixPaddingMs: number;
  /** Silence that ends a turn. */
  silenceDurationMs: number;
}

export const DEFAULT_VAD: VadOptions = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };

/** Analysis window: short enough for 10 ms timestamps, long enough for a stable RMS. */
export const WINDOW_MS = 10;
/** Loud windows in a row before speech counts as started: a single click is not a turn. */
export const MIN_SPEECH_WINDOWS = 2;

/**
 * RMS level (fraction of full scale) a window needs to count as loud. The default threshold 0.5 gives
 * 0.02 (about -34 dBFS): quiet speech passes, line noise and dither do not.
 */
export function rmsThresholdOf(threshold: number): number {
  return Math.max(0, threshold) * 0.04;
}

/** Root mean square of 16-bit samples, as a fraction of full scale. */
export function rmsOf(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  // An indexed loop: a typed array's iterator costs several times the arithmetic here.
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / samples.length) / 32768;
}

/** What a window changed: speech began at `onsetMs`, or ended at `offsetMs` (end of its last loud window). */
export type VadTransition = { kind: "start"; onsetMs: number } | { kind: "stop"; offsetMs: number };

/** The VAD's state between windows. */
export class Vad {
  #speaking = false;
  #loudRun = 0;
  #runStartMs = 0;
  #lastLoudEndMs = 0;
  #quietMs = 0;

  constructor(readonly options: VadOptions) {}

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds one window that starts at `startMs` of the session's audio and lasts `durationMs`. */
  push(startMs: number, durationMs: number, loud: boolean): VadTransition | undefined {
    if (loud) {
      this.#lastLoudEndMs = startMs + durationMs;
      this.#quietMs = 0;
      if (this.#speaking) return undefined;
      if (this.#loudRun === 0) this.#runStartMs = startMs;
      this.#loudRun++;
      if (this.#loudRun < MIN_SPEECH_WINDOWS) return undefined;
      this.#speaking = true;
      return { kind: "start", onsetMs: this.#runStartMs };
    }
    this.#loudRun = 0;
    if (!this.#speaking) return undefined;
    this.#quietMs += durationMs;
    if (this.#quietMs < this.options.silenceDurationMs) return undefined;
    this.#speaking = false;
    return { kind: "stop", offsetMs: this.#lastLoudEndMs };
  }

  /** Forgets any turn in progress (the buffer was cleared), without a transition. */
  reset(): void {
    this.#speaking = false;
    this.#loudRun = 0;
    this.#quietMs = 0;
  }
}
