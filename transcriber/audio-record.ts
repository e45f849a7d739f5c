/**
 * What a session's closing Metadata says about the audio it was sent: the SHA-256 of the bytes as the client
 * sent them and when the session began. One per session, whatever the backend.
 */
import { type ClosingMetadata, closingMetadata, type ResultsContext } from "./protocol.ts";

export class AudioRecord {
  readonly #hash = new Bun.CryptoHasher("sha256");
  readonly #createdAtMs: number;

  constructor(createdAtMs: number) {
    this.#createdAtMs = createdAtMs;
  }

  /** One binary client frame, as received. */
  add(frame: Uint8Array): void {
    this.#hash.update(frame);
  }

  /** The closing Metadata for `durationMs` of audio heard; call once, at the session's end. */
  closing(
    context: ResultsContext,
    durationMs: number,
    channels: number,
    echo?: { tags?: string[]; extra?: Record<string, string> },
  ): ClosingMetadata {
    return closingMetadata(context, { sha256: this.#hash.digest("hex"), createdAtMs: this.#createdAtMs, durationMs, channels }, echo);
  }
}
