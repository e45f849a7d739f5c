/**
 * One client session on the local backend: audio frames (decoded at 16 kHz) stream into a borrowed
 * recognizer in 100 ms chunks. A partial hypothesis that changed becomes an interim Results; the
 * recognizer's endpoint (speech, then silence), Finalize or CloseStream ends the utterance with a final
 * Results and an UtteranceEnd. Times are on the session's timeline: milliseconds of audio received.
 */
import type { Logger } from "pino";
import { AudioRecord } from "../audio-record.ts";
import type { DecodedPacket } from "../opus.ts";
import { ALL_FEATURES, type SessionFeatures, wanted } from "../features.ts";
import { UtteranceEndGate } from "../utterance-end.ts";
import {
  type ClientMessage,
  DEFAULT_CONTEXT,
  errorMessage,
  parseControl,
  type ResultsContext,
  results,
  SHUTDOWN,
  speechStarted,
  utteranceEnd,
} from "../protocol.ts";
import { RECOGNIZER_RATE_HZ, type Recognizer, RecognizerFailedError } from "./recognizer.ts";

/** 100 ms at 16 kHz: how much audio goes to the recognizer per call (and at most one interim per chunk). */
const CHUNK_SAMPLES = 1_600;
const SAMPLES_PER_MS = RECOGNIZER_RATE_HZ / 1000;
/** pocketsphinx reports speech after ~100 ms of it and keeps ~200 ms before it (its vad_prespeech). */
const SPEECH_START_LAG_MS = 200;
/** ...and reports silence after 500 ms of it (vad_postspeech 50 frames): the utterance ended that long ago. */
const SPEECH_END_LAG_MS = 500;
/** At most one bad_audio Error per this interval. */
const BAD_AUDIO_REPORT_MS = 1_000;

export interface LocalSessionOptions {
  /** One binary frame to 16 kHz mono PCM. */
  input: (frame: Uint8Array) => DecodedPacket;
  recognizer: Recognizer;
  /** Gives the recognizer back (to the pool) once the session ends; called exactly once. */
  release(recognizer: Recognizer): void;
  send(message: ClientMessage): void;
  close(code: number, reason: string): void;
  log: Logger;
  now?: () => number;
  /** Which optional messages the client asked for (default: all). */
  features?: SessionFeatures;
  /** Who the Results and the closing Metadata say produced them. */
  context?: ResultsContext;
  /** `false`: the recognizer's endpointer ends no utterance; finals only on Finalize or CloseStream. */
  endpointing?: boolean;
  /** Channels of the client's audio as declared, and the tags/extra to echo, for the closing Metadata. */
  channels?: number;
  echo?: { tags?: string[]; extra?: Record<string, string> };
}

/** See the file comment. */
export class LocalSession {
  readonly #options: LocalSessionOptions;
  readonly #now: () => number;
  readonly #chunk = new Int16Array(CHUNK_SAMPLES);
  #chunkFill = 0;
  /** Samples the recognizer has been given. */
  #processedSamples = 0;
  #utteranceStartMs = 0;
  #speaking = false;
  #speechStartMs = 0;
  #lastHypothesis = "";
  #lastBadAudioReportMs = Number.NEGATIVE_INFINITY;
  #ended = false;
  #closing: Promise<void> | undefined;
  readonly #features: SessionFeatures;
  /** Holds each UtteranceEnd until the audio shows utterance_end_ms of gap. */
  readonly #utteranceEnds: UtteranceEndGate;
  readonly #context: ResultsContext;
  /** The audio as sent, for the closing Metadata. */
  readonly #audio: AudioRecord;

  constructor(options: LocalSessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#features = options.features ?? ALL_FEATURES;
    this.#utteranceEnds = new UtteranceEndGate(this.#features.utteranceEndGapMs, (message) => {
      if (wanted(message, this.#features)) this.#options.send(message);
    });
    this.#context = options.context ?? DEFAULT_CONTEXT;
    this.#audio = new AudioRecord(this.#now());
    options.recognizer.startUtterance();
  }

  /** Sends `message` unless the client did not ask for its kind. */
  #send(message: ClientMessage): void {
    if (this.#utteranceEnds.offer(message, this.processedMs)) return;
    if (wanted(message, this.#features)) this.#options.send(message);
  }

  /** Milliseconds of audio the recognizer has heard: the session timeline. */
  get processedMs(): number {
    return this.#processedSamples / SAMPLES_PER_MS;
  }

  /** One binary client frame. */
  onBinary(frame: Uint8Array): void {
    if (this.#ended || this.#closing) return;
    this.#audio.add(frame);
    this.#guard(() => this.#addFrame(frame));
  }

  #addFrame(frame: Uint8Array): void {
    const decoded = this.#options.input(frame);
    if (decoded.concealed && this.#now() - this.#lastBadAudioReportMs >= BAD_AUDIO_REPORT_MS) {
      this.#lastBadAudioReportMs = this.#now();
      this.#options.send(errorMessage("bad_audio", `audio frame could not be decoded (${decoded.error}); concealed`));
    }
    let at = 0;
    while (at < decoded.pcm.length) {
      const take = Math.min(decoded.pcm.length - at, CHUNK_SAMPLES - this.#chunkFill);
      this.#chunk.set(decoded.pcm.subarray(at, at + take), this.#chunkFill);
      this.#chunkFill += take;
      at += take;
      if (this.#chunkFill === CHUNK_SAMPLES) this.#processChunk();
    }
  }

  /** One text client frame (a control message). */
  onText(text: string): void {
    if (this.#ended) return;
    const control = parseControl(text);
    if (control.type === "Error") this.#options.send(control);
    else if (control.type === "Finalize") this.finalize();
    else if (control.type === "CloseStream") void this.closeStream();
  }

  /**
   * Ends the current utterance now: what was heard since its start becomes a final (if any words), marked
   * `from_finalize` when the client's Finalize asked for it.
   */
  finalize(fromFinalize = true): void {
    if (this.#ended) return;
    this.#guard(() => {
      this.#processChunk();
      this.#endUtterance(this.processedMs, fromFinalize ? "finalize" : "close");
    });
  }

  /** Runs recognizer work; an engine failure ends the session with Error recognizer_failed + 1011. */
  #guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      if (!(error instanceof RecognizerFailedError)) throw error;
      this.#options.log.error({ error: error.message }, "Local recognizer failed; closing the session");
      this.#options.send(errorMessage("recognizer_failed", error.message));
      this.dispose();
      this.#options.close(1011, "recognizer failed");
    }
  }

  /** The client's CloseStream: the last final, the closing Metadata, then 1000. */
  closeStream(): Promise<void> {
    this.#closing ??= this.#close(1000, "stream closed");
    return this.#closing;
  }

  /** The server is stopping: the same flush, then SHUTDOWN's Error and 1012 (a CloseStream under way keeps 1000). */
  shutDown(): Promise<void> {
    this.#closing ??= this.#close(SHUTDOWN.code, SHUTDOWN.reason, SHUTDOWN.notice);
    return this.#closing;
  }

  /** The recognizer is synchronous: nothing to wait for but the next turn (so a peer's wiring is done). */
  async #close(code: number, reason: string, notice?: ClientMessage): Promise<void> {
    await Promise.resolve();
    if (this.#ended) return;
    this.finalize(false);
    if (this.#ended) return; // the recognizer failed while flushing: that path closed the session
    this.#utteranceEnds.flush();
    this.#options.send(this.#audio.closing(this.#context, this.processedMs, this.#options.channels ?? 1, this.#options.echo));
    this.dispose();
    if (notice) this.#options.send(notice);
    this.#options.close(code, reason);
  }

  /** The session is over (client gone or closed): the recognizer goes back to the pool. */
  dispose(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#options.recognizer.endUtterance();
    this.#options.release(this.#options.recognizer);
  }

  #processChunk(): void {
    if (this.#chunkFill === 0) return;
    const recognizer = this.#options.recognizer;
    recognizer.process(this.#chunk.subarray(0, this.#chunkFill));
    this.#processedSamples += this.#chunkFill;
    this.#utteranceEnds.audioAt(this.processedMs);
    this.#chunkFill = 0;
    const nowMs = this.processedMs;
    const inSpeech = recognizer.inSpeech;
    if (inSpeech && !this.#speaking) {
      this.#speaking = true;
      this.#speechStartMs = Math.max(this.#utteranceStartMs, nowMs - SPEECH_START_LAG_MS);
      this.#send(speechStarted(this.#speechStartMs));
    }
    if (this.#speaking && inSpeech) {
      const hypothesis = recognizer.hypothesis();
      if (hypothesis && hypothesis !== this.#lastHypothesis) {
        this.#lastHypothesis = hypothesis;
        this.#send(results(hypothesis, this.#speechStartMs, nowMs, false, { context: this.#context }));
      }
    }
    if (!inSpeech && this.#speaking && this.#options.endpointing !== false) {
      this.#endUtterance(Math.max(this.#speechStartMs, nowMs - SPEECH_END_LAG_MS), "endpoint");
    }
  }

  /**
   * Ends the recognizer's utterance at `endMs` on the timeline, sends its final, and starts the next one. `by`:
   * the endpointer (speech_final), the client's Finalize (from_finalize) or the stream's close.
   */
  #endUtterance(endMs: number, by: "endpoint" | "finalize" | "close"): void {
    const recognizer = this.#options.recognizer;
    recognizer.endUtterance();
    const transcript = recognizer.hypothesis();
    if (transcript) {
      const startMs = this.#speaking ? this.#speechStartMs : this.#utteranceStartMs;
      this.#send(
        results(transcript, startMs, endMs, true, {
          context: this.#context,
          speechFinal: by !== "finalize",
          fromFinalize: by === "finalize",
        }),
      );
      this.#send(utteranceEnd(endMs));
    }
    this.#speaking = false;
    this.#lastHypothesis = "";
    this.#utteranceStartMs = this.processedMs;
    recognizer.startUtterance();
  }
}
