/**
 * Events waiting for one upstream socket: audio appends and commits, in order. Held while the connection
 * opens or while the socket is backed up; bounded, dropping the oldest audio rather than growing.
 */
import type { Upstream } from "./realtime.ts";

type Pending = { kind: "audio"; pcm: Int16Array } | { kind: "commit" };

/** The ordered, bounded queue described above. */
export class Outbox {
  #pending: Pending[] = [];
  #pendingBytes = 0;
  readonly #maxQueueBytes: number;
  readonly #maxBufferedBytes: number;

  constructor(maxQueueBytes: number, maxBufferedBytes: number) {
    this.#maxQueueBytes = maxQueueBytes;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  /** Queues an event; returns how many samples of the oldest audio had to be dropped for room (usually 0). */
  push(item: Pending): number {
    this.#pending.push(item);
    if (item.kind === "audio") this.#pendingBytes += item.pcm.byteLength;
    return this.#pendingBytes > this.#maxQueueBytes ? this.#dropOldestAudio() : 0;
  }

  /** Sends what the socket takes; returns false when it stopped because the socket is backed up. */
  flush(upstream: Upstream): boolean {
    while (this.#pending.length > 0) {
      if (upstream.bufferedBytes() > this.#maxBufferedBytes) return false;
      const item = this.#pending.shift()!;
      if (item.kind === "commit") {
        upstream.send({ type: "input_audio_buffer.commit" });
        continue;
      }
      this.#pendingBytes -= item.pcm.byteLength;
      const bytes = Buffer.from(item.pcm.buffer, item.pcm.byteOffset, item.pcm.byteLength);
      upstream.send({ type: "input_audio_buffer.append", audio: bytes.toString("base64") });
    }
    return true;
  }

  /** Drops down to half the bound at once, so an overloaded upstream costs one report, not one per frame. */
  #dropOldestAudio(): number {
    let droppedSamples = 0;
    while (this.#pendingBytes > this.#maxQueueBytes / 2) {
      const index = this.#pending.findIndex((item) => item.kind === "audio");
      if (index < 0) break;
      const [item] = this.#pending.splice(index, 1) as [{ kind: "audio"; pcm: Int16Array }];
      this.#pendingBytes -= item.pcm.byteLength;
      droppedSamples += item.pcm.length;
    }
    return droppedSamples;
  }
}
