/**
 * The seam between the local backend and a speech engine: 16 kHz mono int16 in, a growing hypothesis out, and
 * the engine's own endpointer. pocketsphinx is the one shipped (pocketsphinx.ts); another engine (e.g. a
 * sherpa-onnx model the operator mounts) implements the same five methods.
 */

/** Sample rate every recognizer takes. */
export const RECOGNIZER_RATE_HZ = 16_000 as const;

/** One decoder, used by one session at a time. */
export interface Recognizer {
  /** Begins an utterance; audio after it counts from here. */
  startUtterance(): void;
  /** Feeds samples at RECOGNIZER_RATE_HZ. */
  process(pcm: Int16Array): void;
  /** Whether the endpointer hears speech now; a fall from true to false ends the utterance. */
  readonly inSpeech: boolean;
  /** The best hypothesis so far, words separated by single spaces ("" before any word). */
  hypothesis(): string;
  /** Ends the utterance; hypothesis() is then its final text. */
  endUtterance(): void;
  /** Releases the engine's memory. */
  free(): void;
}

/** Makes recognizers; the pool calls it when no idle one is left. */
export type RecognizerFactory = () => Recognizer;

/** The engine reported a failure while decoding; the session ends with Error + 1011. */
export class RecognizerFailedError extends Error {
  override name = "RecognizerFailedError";
}
