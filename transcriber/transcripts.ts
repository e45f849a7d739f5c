/**
 * Maps one upstream connection's realtime events to client messages, and tracks which committed items still
 * owe a transcript. Upstream audio_*_ms count from that connection's first sample; `offsetMs` places them
 * on the session timeline, which survives reconnects.
 *
 * The realtime API does not promise to complete items in the order it committed them (a short item can finish
 * before a longer, earlier one), while a Deepgram client reads finals in audio order. So a final is held until
 * every item committed before it has its final out, and a later item's interims are not sent meanwhile.
 */
import {
  type ClientMessage,
  DEFAULT_CONTEXT,
  errorMessage,
  results,
  type ResultsContext,
  speechStarted,
  utteranceEnd,
} from "./protocol.ts";
import type { UpstreamEvent } from "./realtime.ts";

interface Item {
  startMs?: number;
  endMs?: number;
  text: string;
  committed: boolean;
  /** Committed by the client's Finalize (not by the VAD, nor by CloseStream). */
  fromFinalize?: boolean;
}

/** Our own commits, in order; each becomes the next committed item that VAD did not end. */
interface ManualSpan {
  startMs: number;
  endMs: number;
  fromFinalize: boolean;
}

/** The upstream's error code for "commit of an empty (or under 100 ms) buffer": expected after our own Finalize. */
const EMPTY_COMMIT_CODE = "input_audio_buffer_commit_empty";

/** Per-connection transcript state. All `*Ms` without "session" are on the connection's own timeline. */
export class TranscriptTracker {
  /** Where this connection's audio starts on the session timeline. */
  offsetMs: number;
  #items = new Map<string, Item>();
  /** Committed items whose final is not delivered yet, in the order the upstream committed them. */
  #order: string[] = [];
  /** Finals (and their UtteranceEnd) that arrived while an earlier item still owed its own. */
  #held = new Map<string, { startMs: number; messages: ClientMessage[] }>();
  #manual: ManualSpan[] = [];
  /** End of the last commit (ours or VAD's): audio before it is in some item. */
  #lastCommitMs = 0;
  /**
   * End of the last turn the upstream's VAD ended (speech_stopped), in the order the upstream committed things.
   * A commit of ours sent before that event arrived starts there, not where we thought the buffer started.
   */
  #vadEndMs = 0;
  /** The server VAD's last word: after `stopped`, what is buffered is trailing silence. */
  #vad: "unknown" | "speech" | "silence" = "unknown";

  readonly #context: ResultsContext;

  constructor(offsetMs: number, context: ResultsContext = DEFAULT_CONTEXT) {
    this.offsetMs = offsetMs;
    this.#context = context;
  }

  /** Records a commit we send, covering audio since the last commit up to `endMs`; `fromFinalize` when the client's Finalize asked for it. */
  noteManualCommit(endMs: number, fromFinalize = false): void {
    this.#manual.push({ startMs: this.#lastCommitMs, endMs, fromFinalize });
    this.#lastCommitMs = endMs;
  }

  /** Audio buffered upstream since the last commit, given how much was appended. */
  uncommittedMs(appendedMs: number): number {
    return appendedMs - this.#lastCommitMs;
  }

  /**
   * Whether a manual commit (Finalize, CloseStream) has anything worth transcribing: not when the server VAD
   * has ended the last turn and heard no speech since, since that buffer is only trailing silence.
   */
  get worthCommitting(): boolean {
    return this.#vad !== "silence";
  }

  /** Commits sent or items committed whose transcript has not arrived yet. */
  get outstanding(): number {
    let count = this.#manual.length;
    for (const item of this.#items.values()) if (item.committed) count++;
    return count;
  }

  /** Earliest audio whose transcript is not delivered yet: what a replacement connection must hear again. */
  replayFromMs(): number {
    let from = this.#lastCommitMs;
    for (const span of this.#manual) from = Math.min(from, span.startMs);
    for (const item of this.#items.values()) if (item.startMs !== undefined) from = Math.min(from, item.startMs);
    for (const held of this.#held.values()) from = Math.min(from, held.startMs);
    return from;
  }

  /**
   * The held finals, in order, as they are: for a session that closes without waiting longer for the earlier
   * item they wait behind. The earlier items stay outstanding.
   */
  releaseHeld(): ClientMessage[] {
    const released = this.#order.flatMap((itemId) => this.#held.get(itemId)?.messages ?? []);
    this.#order = this.#order.filter((itemId) => !this.#held.has(itemId));
    this.#held.clear();
    return released;
  }

  /** Handles one upstream event; returns the client messages it produces, in order. */
  handle(event: UpstreamEvent): ClientMessage[] {
    const e = event as Record<string, unknown>;
    const itemId = typeof e.item_id === "string" ? e.item_id : "";
    switch (event.type) {
      case "input_audio_buffer.speech_started": {
        const startMs = Number(e.audio_start_ms) || 0;
        this.#item(itemId).startMs = startMs;
        this.#vad = "speech";
        return [speechStarted(this.offsetMs + startMs)];
      }
      case "input_audio_buffer.speech_stopped": {
        const endMs = Number(e.audio_end_ms) || 0;
        this.#item(itemId).endMs = endMs;
        this.#vad = "silence";
        this.#lastCommitMs = Math.max(this.#lastCommitMs, endMs);
        this.#vadEndMs = Math.max(this.#vadEndMs, endMs);
        return [];
      }
      case "input_audio_buffer.committed": {
        const item = this.#item(itemId);
        if (item.endMs === undefined) {
          const span = this.#manual.shift();
          // The upstream commits in order: a VAD turn it ended before this commit holds the audio up to its end.
          item.startMs ??= span ? Math.min(Math.max(span.startMs, this.#vadEndMs), span.endMs) : this.#lastCommitMs;
          item.endMs = span?.endMs ?? this.#lastCommitMs;
          item.fromFinalize = span?.fromFinalize ?? false;
        }
        if (!item.committed) this.#order.push(itemId);
        item.committed = true;
        return [];
      }
      case "conversation.item.input_audio_transcription.delta": {
        const item = this.#item(itemId);
        item.text += typeof e.delta === "string" ? e.delta : "";
        // Its final will carry the text: an interim ahead of an earlier item's final would be out of order.
        if (this.#behindAnother(itemId)) return [];
        return [this.#results(item, item.text, false)];
      }
      case "conversation.item.input_audio_transcription.completed": {
        const item = this.#item(itemId);
        this.#items.delete(itemId);
        const transcript = typeof e.transcript === "string" ? e.transcript : item.text;
        const final = this.#results(item, transcript, true, confidenceOf(e.logprobs));
        const endMs = this.offsetMs + (item.endMs ?? item.startMs ?? this.#lastCommitMs);
        const messages = [final, utteranceEnd(endMs)];
        if (!this.#behindAnother(itemId)) return [...messages, ...this.#delivered(itemId)];
        this.#held.set(itemId, { startMs: item.startMs ?? this.#lastCommitMs, messages });
        return [];
      }
      case "conversation.item.input_audio_transcription.failed": {
        this.#items.delete(itemId);
        const error = (e.error ?? {}) as { code?: unknown; message?: unknown };
        const failed = errorMessage(String(error.code ?? "transcription_failed"), String(error.message ?? "transcription failed"));
        return [failed, ...this.#delivered(itemId)];
      }
      case "error": {
        const error = (e.error ?? {}) as { code?: unknown; message?: unknown; type?: unknown };
        const code = String(error.code ?? error.type ?? "upstream_error");
        const message = String(error.message ?? "upstream error");
        // Our Finalize raced a VAD commit (or found too little audio): nothing the client needs to know.
        if (this.#manual.length > 0 && code === EMPTY_COMMIT_CODE) {
          this.#manual.shift();
          return [];
        }
        return [errorMessage(code, message)];
      }
      default:
        return [];
    }
  }

  /** Whether an item committed before `itemId` still owes its final. */
  #behindAnother(itemId: string): boolean {
    return this.#order.length > 0 && this.#order[0] !== itemId && this.#order.includes(itemId);
  }

  /** `itemId`'s final is out (or it failed): takes it off the order and returns what was held behind it, in order. */
  #delivered(itemId: string): ClientMessage[] {
    this.#order = this.#order.filter((id) => id !== itemId);
    const released: ClientMessage[] = [];
    for (let head = this.#order[0]; head !== undefined && this.#held.has(head); head = this.#order[0]) {
      released.push(...this.#held.get(head)!.messages);
      this.#held.delete(head);
      this.#order.shift();
    }
    return released;
  }

  #item(itemId: string): Item {
    let item = this.#items.get(itemId);
    if (!item) {
      item = { text: "", committed: false };
      this.#items.set(itemId, item);
    }
    return item;
  }

  #results(item: Item, transcript: string, isFinal: boolean, confidence?: number): ClientMessage {
    const startMs = item.startMs ?? this.#lastCommitMs;
    const endMs = item.endMs ?? startMs;
    // A final the VAD ended is the end of speech; one our commit cut (Finalize, CloseStream) is not.
    const speechFinal = isFinal && item.fromFinalize === undefined;
    return results(transcript, this.offsetMs + startMs, this.offsetMs + endMs, isFinal, {
      speechFinal,
      fromFinalize: isFinal && item.fromFinalize === true,
      confidence,
      context: this.#context,
    });
  }
}

/**
 * Confidence from the token log-probabilities OpenAI attaches when asked (`include` logprobs): the geometric
 * mean token probability. Undefined when the event carries none, so the builder's default applies.
 */
export function confidenceOf(logprobs: unknown): number | undefined {
  if (!Array.isArray(logprobs) || logprobs.length === 0) return undefined;
  const values = logprobs.map((entry) => Number((entry as { logprob?: unknown }).logprob)).filter(Number.isFinite);
  if (values.length === 0) return undefined;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return Math.round(Math.exp(mean) * 1000) / 1000;
}
