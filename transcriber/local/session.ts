/**
 * One client session on the local backend: audio frames (decoded at 16 kHz) stream into a borrowed
 * recognizer in 100 ms chunks. A partial hypothesis that changed becomes an interim Results; the
 * recognizer's endpoint (speech, then silence), Finalize or CloseStream ends the utterance with a final
 * Results and an UtteranceEnd. Times are on the session's timeline: milliseconds of audio received.
 */
import type { Logger } from "pino";
import type { DecodedPacket } from "../opus.ts";
import { errorMessage, parseControl, results, seconds, type ClientMessage } from "../protocol.ts";
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

  constructor(options: LocalSessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    options.recognizer.startUtterance();
  }

  /** Milliseconds of audio the recognizer has heard: the session timeline. */
  get processedMs(): number {
    return this.#processedSamples / SAMPLES_PER_MS;
  }

  /** One binary client frame. */
  onBinary(frame: Uint8Array): void {
    if (this.#ended || this.#closing) return;
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

  /** Ends the current utterance now: what was heard since its start becomes a final (if any words). */
  finalize(): void {
    if (this.#ended) return;
    this.#guard(() => {
      this.#processChunk();
      this.#endUtterance(this.processedMs);
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

  /** Finalizes, then closes the client with `code` (the recognizer is synchronous: nothing to wait for). */
  closeStream(code = 1000, reason = "stream closed"): Promise<void> {
    this.#closing ??= Promise.resolve().then(() => {
      if (this.#ended) return;
      this.finalize();
      this.dispose();
      this.#options.close(code, reason);
    });
    return this.#closing;
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
    this.#chunkFill = 0;
    const nowMs = this.processedMs;
    const inSpeech = recognizer.inSpeech;
    if (inSpeech && !this.#speaking) {
      this.#speaking = true;
      this.#speechStartMs = Math.max(this.#utteranceStartMs, nowMs - SPEECH_START_LAG_MS);
      this.#options.send({ type: "SpeechStarted", timestamp: seconds(this.#speechStartMs) });
    }
    if (this.#speaking && inSpeech) {
      const hypothesis = recognizer.hypothesis();
      if (hypothesis && hypothesis !== this.#lastHypothesis) {
        this.#lastHypothesis = hypothesis;
        this.#options.send(results(hypothesis, this.#speechStartMs, nowMs, false));
      }
    }
    if (!inSpeech && this.#speaking) this.#endUtterance(Math.max(this.#speechStartMs, nowMs - SPEECH_END_LAG_MS));
  }

  /** Ends the recognizer's utterance at `endMs` on the timeline, sends its final, and starts the next one. */
  #endUtterance(endMs: number): void {
    const recognizer = this.#options.recognizer;
    recognizer.endUtterance();
    const transcript = recognizer.hypothesis();
    if (transcript) {
      const startMs = this.#speaking ? this.#speechStartMs : this.#utteranceStartMs;
      this.#options.send(results(transcript, startMs, endMs, true));
      this.#options.send({ type: "UtteranceEnd", last_word_end: seconds(endMs) });
    }
    this.#speaking = false;
    this.#lastHypothesis = "";
    this.#utteranceStartMs = this.processedMs;
    recognizer.startUtterance();
  }
}
