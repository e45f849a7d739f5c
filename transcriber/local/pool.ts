/**
 * The decoders of one transcriber, shared across its sessions: a session borrows one and gives it back, so
 * the model is loaded once per concurrent session rather than once per session (about 0.35 s and 90 MiB each
 * for pocketsphinx), and at most `maxSessions` exist: beyond that a session is refused, not OOM-killed.
 */
import type { Recognizer, RecognizerFactory } from "./recognizer.ts";

/** Every decoder is in use: the caller refuses the session (Error + 1013). */
export class RecognizerBusyError extends Error {
  override name = "RecognizerBusyError";
}

/** A bounded pool of reusable recognizers. */
export class RecognizerPool {
  readonly #idle: Recognizer[] = [];
  #inUse = 0;

  constructor(
    private readonly create: RecognizerFactory,
    readonly maxSessions: number,
  ) {}

  /** Sessions holding a recognizer now. */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * A recognizer for a new session (an idle one, else a new one).
   * @throws RecognizerBusyError when `maxSessions` are in use.
   */
  acquire(): Recognizer {
    if (this.#inUse >= this.maxSessions) {
      throw new RecognizerBusyError(
        `all ${this.maxSessions} local recognizer sessions of this transcriber are in use (LOCAL_MAX_SESSIONS)`,
      );
    }
    const recognizer = this.#idle.pop() ?? this.create();
    this.#inUse++;
    return recognizer;
  }

  /** Gives a recognizer back; its utterance must have ended. */
  release(recognizer: Recognizer): void {
    this.#inUse--;
    this.#idle.push(recognizer);
  }

  /** Frees the idle recognizers (at shutdown). */
  close(): void {
    for (const recognizer of this.#idle.splice(0)) recognizer.free();
  }
}
