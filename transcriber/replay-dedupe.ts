/**
 * After a reconnect the undelivered audio is replayed from its earliest undelivered point, which can include
 * turns whose transcripts were already delivered (a stalled item followed by later ones that completed). This
 * drops what the client already has: Results overlapping a delivered final's span, and repeated UtteranceEnds.
 */
import type { ClientMessage } from "./protocol.ts";

/** Most delivered spans remembered: replay covers at most a few minutes of turns. */
const MAX_REMEMBERED = 200;
/** UtteranceEnds this close (s) to a delivered one are the same utterance end. */
const SAME_END_S = 0.1;

export class ReplayDedupe {
  #finals: Array<[number, number]> = [];
  #ends: number[] = [];

  /** Records a delivered message from a connection that is not replaying: it is never itself a repeat. */
  record(message: ClientMessage): void {
    if (message.type === "UtteranceEnd") remember(this.#ends, message.last_word_end);
    else if (message.type === "Results" && message.is_final) remember(this.#finals, [message.start, message.start + message.duration]);
  }

  /** Whether `message` (from a replaying connection) repeats something delivered; records it if not. */
  isRepeat(message: ClientMessage): boolean {
    if (message.type === "UtteranceEnd") {
      if (this.#ends.some((end) => Math.abs(end - message.last_word_end) <= SAME_END_S)) return true;
      remember(this.#ends, message.last_word_end);
      return false;
    }
    if (message.type !== "Results") return false;
    const start = message.start;
    const end = message.start + message.duration;
    if (this.#finals.some(([a, b]) => overlapS(a, b, start, end) >= 0.5 * Math.max(0.001, Math.min(b - a, end - start)))) return true;
    if (message.is_final) remember(this.#finals, [start, end]);
    return false;
  }
}

function overlapS(a: number, b: number, c: number, d: number): number {
  return Math.max(0, Math.min(b, d) - Math.max(a, c));
}

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_REMEMBERED) list.shift();
}
