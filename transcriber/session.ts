/**
 * One client session: audio frames in (decoded to 24 kHz mono, batched), control messages, and the upstream
 * connection(s) behind it. Replaces the upstream before OpenAI's session age limit without losing audio,
 * reconnects with backoff after a drop (replaying audio not yet transcribed), and closes the client stream
 * only after outstanding transcripts arrived (bounded).
 */
import type { Logger } from "pino";
import { AudioRecord } from "./audio-record.ts";
import { ALL_FEATURES, type SessionFeatures, wanted } from "./features.ts";
import { UpstreamLink } from "./link.ts";
import { UtteranceEndGate } from "./utterance-end.ts";
import type { DecodedPacket } from "./opus.ts";
import { type ClientMessage, DEFAULT_CONTEXT, errorMessage, parseControl, type ResultsContext, SHUTDOWN } from "./protocol.ts";
import type { UpstreamFactory, UpstreamRefusal } from "./realtime.ts";
import { ReplayDedupe } from "./replay-dedupe.ts";

/**
 * Turns one binary client frame into 24 kHz mono PCM (Opus decoder or linear16 converter). The PCM may be the
 * decoder's own buffer, valid only until the next call: the session copies it into its batch at once.
 */
export type AudioInput = (frame: Uint8Array) => DecodedPacket;

export interface SessionOptions {
  input: AudioInput;
  connect: UpstreamFactory;
  model: string;
  language?: string;
  realtimeSessionMaxMs: number;
  /** Which optional messages the client asked for (Deepgram's interim_results, vad_events, utterance_end_ms); default: all. */
  features?: SessionFeatures;
  /** Who the Results and the closing Metadata say produced them. */
  context?: ResultsContext;
  /** Silence that ends an utterance (ms), or `false` for no endpointing (see LinkOptions). */
  endpointingMs?: number | false;
  /** Channels of the client's audio as declared, for the closing Metadata. */
  channels?: number;
  /** The request's tag and extra values, echoed in the closing Metadata. */
  echo?: { tags?: string[]; extra?: Record<string, string> };
  send(message: ClientMessage): void;
  /** Closes the client socket. */
  close(code: number, reason: string): void;
  log: Logger;
  /** How long CloseStream waits for outstanding transcripts. */
  closeWaitMs?: number;
  /** Consecutive failed upstream connections before the session gives up. */
  maxReconnects?: number;
  /** First reconnect delay; doubles per attempt. */
  reconnectBaseMs?: number;
  /** How long one upstream connection may take to open. */
  connectTimeoutMs?: number;
  /** How long an upstream may owe a transcript before it counts as stalled (see LinkOptions). */
  stallTimeoutMs?: number;
  now?: () => number;
}

/** The optional messages a session sends. */
export type { SessionFeatures } from "./features.ts";

/**
 * Audio batched per append event: 80 ms at 24 kHz, a balance of latency and events per second (160 ms saved about
 * 6 % of the transcriber's CPU but added up to 80 ms to every final, which the 1 s budget cannot spare under load).
 */
const BATCH_SAMPLES = 1920;
const SAMPLES_PER_MS = 24;
/** A connection that stayed open this long counts as healthy: its drop starts a fresh retry count. */
const STABLE_CONNECTION_MS = 5_000;
/** At most one bad_audio Error per this interval, so a broken client is not flooded. */
const BAD_AUDIO_REPORT_MS = 1_000;
/** How long a replaced connection may take to deliver its last transcripts. */
const RETIRE_WAIT_MS = 30_000;

/** A client session; see the file comment. */
export class TranscriptionSession {
  #options: SessionOptions;
  #now: () => number;
  #links = new Set<UpstreamLink>();
  /** Links a rotation moved off that still owe transcripts: the newer link's transcripts wait for theirs. */
  readonly #retiring = new Set<UpstreamLink>();
  #waitingForRetiring: Array<{ message: ClientMessage; replaying: boolean }> = [];
  #current: UpstreamLink;
  #batch = new Int16Array(BATCH_SAMPLES);
  #batchFill = 0;
  #totalSamples = 0;
  #failures = 0;
  #rotateTimer: ReturnType<typeof setTimeout> | undefined;
  #lastBadAudioReportMs = Number.NEGATIVE_INFINITY;
  #previousFrameBad = false;
  #lastSpeechStartedS = Number.NEGATIVE_INFINITY;
  readonly #dedupe = new ReplayDedupe();
  readonly #features: SessionFeatures;
  /** Holds each UtteranceEnd until the audio shows utterance_end_ms of gap. */
  readonly #utteranceEnds: UtteranceEndGate;
  readonly #context: ResultsContext;
  /** The audio as sent, for the closing Metadata. */
  readonly #audio: AudioRecord;
  #closing: Promise<void> | undefined;
  #ended = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#features = options.features ?? ALL_FEATURES;
    this.#utteranceEnds = new UtteranceEndGate(this.#features.utteranceEndGapMs, (message) => {
      if (!this.#ended && wanted(message, this.#features)) this.#options.send(message);
    });
    this.#context = options.context ?? DEFAULT_CONTEXT;
    this.#audio = new AudioRecord(this.#now());
    this.#current = this.#newLink(0);
    this.#current.connect();
  }

  /** Milliseconds of audio received so far: the session timeline. */
  get receivedMs(): number {
    return this.#totalSamples / SAMPLES_PER_MS;
  }

  /** One binary client frame. */
  onBinary(frame: Uint8Array): void {
    if (this.#closing || this.#ended) return;
    this.#audio.add(frame);
    const decoded = this.#options.input(frame);
    if (decoded.concealed) {
      if (!this.#previousFrameBad && this.#now() - this.#lastBadAudioReportMs >= BAD_AUDIO_REPORT_MS) {
        this.#lastBadAudioReportMs = this.#now();
        this.#options.send(errorMessage("bad_audio", `audio frame could not be decoded (${decoded.error}); concealed`));
      }
    }
    this.#previousFrameBad = decoded.concealed;
    this.#addPcm(decoded.pcm);
  }

  /** One text client frame (a control message). */
  onText(text: string): void {
    const control = parseControl(text);
    if (control.type === "Error") this.#options.send(control);
    else if (control.type === "Finalize") this.finalize();
    else if (control.type === "CloseStream") void this.closeStream();
  }

  /** Commits what is buffered (at least 100 ms); its transcript arrives as a final marked `from_finalize`. */
  finalize(fromFinalize = true): void {
    this.#flushBatch();
    this.#current.commit(fromFinalize);
  }

  /** The client's CloseStream: finalizes, waits (bounded) for outstanding transcripts, then closes 1000. */
  closeStream(): Promise<void> {
    this.#closing ??= this.#closeStream(1000, "stream closed");
    return this.#closing;
  }

  /**
   * The server is stopping: the same flush as CloseStream, then SHUTDOWN's Error and 1012 (a CloseStream
   * already under way keeps its 1000: the client asked first).
   */
  shutDown(): Promise<void> {
    this.#closing ??= this.#closeStream(SHUTDOWN.code, SHUTDOWN.reason, SHUTDOWN.notice);
    return this.#closing;
  }

  /** The client went away: drop everything without waiting. */
  dispose(): void {
    this.#ended = true;
    clearTimeout(this.#rotateTimer);
    for (const link of this.#links) link.close();
    this.#links.clear();
  }

  async #closeStream(code: number, reason: string, notice?: ClientMessage): Promise<void> {
    this.finalize(false);
    const deadline = this.#now() + (this.#options.closeWaitMs ?? 5_000);
    for (;;) {
      const remainingMs = deadline - this.#now();
      const busy = [...this.#links].filter((link) => link.state !== "closed" && link.tracker.outstanding > 0);
      if (busy.length === 0 || remainingMs <= 0 || this.#ended) break;
      await Promise.all(busy.map((link) => link.drain(remainingMs)));
    }
    if (this.#ended) return;
    // Oldest link first: what each still holds, then what waited for the retiring ones.
    for (const link of this.#links) link.releaseHeld();
    for (const link of [...this.#retiring]) this.#retired(link);
    this.#utteranceEnds.flush();
    this.#options.send(this.#audio.closing(this.#context, this.receivedMs, this.#options.channels ?? 1, this.#options.echo));
    this.dispose();
    if (notice) this.#options.send(notice);
    this.#options.close(code, reason);
  }

  /**
   * Sends a message to the client. Only a connection that replays audio can repeat what was delivered; a
   * first connection's finals are recorded, never filtered (two turns alike in span are both real).
   */
  #emit(message: ClientMessage, replaying: boolean): void {
    if (this.#ended) return;
    if (replaying) {
      if (this.#dedupe.isRepeat(message)) return;
    } else {
      this.#dedupe.record(message);
    }
    if (message.type === "SpeechStarted") {
      // Audio replayed after a reconnect starts its speech again: the client heard about it already.
      if (message.timestamp <= this.#lastSpeechStartedS) return;
      this.#lastSpeechStartedS = message.timestamp;
    }
    if (this.#utteranceEnds.offer(message, this.receivedMs)) return;
    if (wanted(message, this.#features)) this.#options.send(message);
  }

  #addPcm(pcm: Int16Array): void {
    this.#totalSamples += pcm.length;
    this.#utteranceEnds.audioAt(this.receivedMs);
    // The common case, a whole 20 ms frame that fits the batch, needs no subarray view.
    if (pcm.length <= BATCH_SAMPLES - this.#batchFill) {
      this.#batch.set(pcm, this.#batchFill);
      this.#batchFill += pcm.length;
      if (this.#batchFill === BATCH_SAMPLES) this.#flushBatch();
      return;
    }
    let at = 0;
    while (at < pcm.length) {
      const take = Math.min(pcm.length - at, BATCH_SAMPLES - this.#batchFill);
      this.#batch.set(pcm.subarray(at, at + take), this.#batchFill);
      this.#batchFill += take;
      at += take;
      if (this.#batchFill === BATCH_SAMPLES) this.#flushBatch();
    }
  }

  #flushBatch(): void {
    if (this.#batchFill === 0) return;
    if (this.#batchFill === BATCH_SAMPLES) {
      // A full batch is handed over as it is (the link keeps it for replay) and a fresh one started: no copy.
      this.#current.append(this.#batch);
      this.#batch = new Int16Array(BATCH_SAMPLES);
    } else {
      this.#current.append(this.#batch.slice(0, this.#batchFill));
    }
    this.#batchFill = 0;
  }

  #newLink(offsetMs: number, replaying = false): UpstreamLink {
    const link = new UpstreamLink({
      connect: this.#options.connect,
      model: this.#options.model,
      language: this.#options.language,
      offsetMs,
      context: this.#context,
      endpointingMs: this.#options.endpointingMs,
      emit: (message) => this.#fromLink(link, message, replaying),
      onDrop: (dropped, reason, refusal) => this.#onDrop(dropped, reason, refusal),
      connectTimeoutMs: this.#options.connectTimeoutMs,
      stallTimeoutMs: this.#options.stallTimeoutMs,
      now: this.#now,
    });
    this.#links.add(link);
    clearTimeout(this.#rotateTimer);
    this.#rotateTimer = setTimeout(() => this.#rotate(), this.#options.realtimeSessionMaxMs);
    return link;
  }

  /** Moves new audio to a fresh connection, then lets the old one finish its transcripts and close. */
  #rotate(): void {
    if (this.#closing || this.#ended) return;
    this.#flushBatch();
    const old = this.#current;
    this.#current = this.#newLink(this.receivedMs);
    this.#current.connect();
    this.#options.log.info({ offsetMs: this.receivedMs }, "Realtime session rotated");
    this.#retiring.add(old);
    old.commit();
    void old.drain(RETIRE_WAIT_MS).then(() => this.#retire(old));
  }

  #retire(link: UpstreamLink): void {
    link.close();
    this.#links.delete(link);
    this.#retired(link);
  }

  /** A link's transcripts, in audio order across links: a newer link's wait while an older one still owes its own. */
  #fromLink(link: UpstreamLink, message: ClientMessage, replaying: boolean): void {
    const transcript = message.type === "Results" || message.type === "UtteranceEnd";
    if (transcript && this.#retiring.size > 0 && !this.#retiring.has(link)) this.#waitingForRetiring.push({ message, replaying });
    else this.#emit(message, replaying);
  }

  /** `link` owes nothing more (or never will): once no retiring link is left, what waited for them goes out. */
  #retired(link: UpstreamLink): void {
    this.#retiring.delete(link);
    if (this.#retiring.size > 0) return;
    const waiting = this.#waitingForRetiring;
    this.#waitingForRetiring = [];
    for (const { message, replaying } of waiting) this.#emit(message, replaying);
  }

  #onDrop(link: UpstreamLink, reason: string, refusal?: UpstreamRefusal): void {
    this.#links.delete(link);
    if (this.#ended) return;
    if (link !== this.#current) {
      this.#options.log.warn({ reason }, "Retiring realtime connection dropped before its last transcripts");
      this.#retired(link);
      return;
    }
    const stable = link.openedAtMs > 0 && this.#now() - link.openedAtMs >= STABLE_CONNECTION_MS;
    this.#failures = stable ? 1 : this.#failures + 1;
    const maxReconnects = this.#options.maxReconnects ?? 5;
    // A refused key will not be accepted on the next try either.
    if (this.#failures > maxReconnects || refusal?.authRefused) {
      this.#options.log.error({ reason, attempts: this.#failures }, "Realtime upstream failed; giving up");
      this.#options.send(errorMessage("upstream_failed", `transcription upstream failed: ${reason}`));
      this.dispose();
      this.#options.close(1014, "upstream failed");
      return;
    }
    const { offsetMs, chunks } = link.unfinishedAudio();
    const next = this.#newLink(offsetMs, true);
    for (const chunk of chunks) next.append(chunk);
    this.#current = next;
    const delayMs = (this.#options.reconnectBaseMs ?? 250) * 2 ** (this.#failures - 1);
    this.#options.log.warn({ reason, attempt: this.#failures, delayMs }, "Realtime upstream dropped; reconnecting");
    setTimeout(() => {
      if (!this.#ended) next.connect();
    }, delayMs);
    // A CloseStream in progress waits for this audio too: finalize it on the new connection.
    if (this.#closing) next.commit();
  }
}
