/**
 * Deepgram's `utterance_end_ms`: an UtteranceEnd goes out only once the audio shows a gap of that many
 * milliseconds after the last finalized word with no new speech in it. The backends propose one after each
 * final (its `last_word_end`); this gate holds it on the session's audio clock, drops it when speech starts
 * again inside the gap (the utterance goes on; the next final proposes a later end), and lets a held one out
 * when the stream closes (the audio has ended, so the utterance has too).
 */
import { type ClientMessage, utteranceEnd } from "./protocol.ts";

export class UtteranceEndGate {
  /** End (ms, session timeline) of the last finalized word whose UtteranceEnd is held, if any. */
  #heldEndMs: number | undefined;
  /** Start of the latest speech heard (ms), from SpeechStarted, whether or not the client wants those. */
  #lastSpeechStartMs = Number.NEGATIVE_INFINITY;

  constructor(
    /** utterance_end_ms; undefined: every proposed UtteranceEnd passes at once. */
    private readonly gapMs: number | undefined,
    private readonly send: (message: ClientMessage) => void,
  ) {}

  /**
   * Sees every message the session emits, before the client's switches; true when the gate took it (an
   * UtteranceEnd it holds or drops), false when the caller sends it on as usual.
   */
  offer(message: ClientMessage, audioMs: number): boolean {
    if (this.gapMs === undefined) return false;
    if (message.type === "SpeechStarted") {
      this.#lastSpeechStartMs = message.timestamp * 1000;
      if (this.#heldEndMs !== undefined && this.#lastSpeechStartMs < this.#heldEndMs + this.gapMs) this.#heldEndMs = undefined;
      return false;
    }
    if (message.type !== "UtteranceEnd") return false;
    const endMs = message.last_word_end * 1000;
    // Speech that started again within the gap after this end (reported before this late final): no gap.
    if (this.#lastSpeechStartMs > endMs && this.#lastSpeechStartMs < endMs + this.gapMs) return true;
    this.#heldEndMs = endMs;
    this.audioAt(audioMs);
    return true;
  }

  /** The session's audio clock reached `audioMs`: a held UtteranceEnd whose gap has passed goes out. */
  audioAt(audioMs: number): void {
    if (this.#heldEndMs === undefined || this.gapMs === undefined || audioMs < this.#heldEndMs + this.gapMs) return;
    this.#release();
  }

  /** The stream is closing: a held UtteranceEnd goes out now. */
  flush(): void {
    if (this.#heldEndMs !== undefined) this.#release();
  }

  #release(): void {
    const endMs = this.#heldEndMs!;
    this.#heldEndMs = undefined;
    this.send(utteranceEnd(endMs));
  }
}
