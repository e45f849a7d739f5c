/**
 * One upstream connection on the session timeline: configures the transcription session, sends audio and
 * commits in order, holds them while connecting or while the socket is backed up (bounded), keeps the audio
 * whose transcript is not delivered yet (for replay after a drop), and reports when nothing is outstanding.
 */
import type { ClientMessage, ResultsContext } from "./protocol.ts";
import type { Upstream, UpstreamFactory, UpstreamRefusal } from "./realtime.ts";
import { Outbox } from "./outbox.ts";
import { ReplayBuffer } from "./replay.ts";
import { everyPeriod } from "./stall-watch.ts";
import { TranscriptTracker } from "./transcripts.ts";

/** Samples per millisecond at 24 kHz. */
const SAMPLES_PER_MS = 24;
/** OpenAI refuses commits of less than 100 ms of audio. */
export const MIN_COMMIT_MS = 100;

export interface LinkOptions {
  connect: UpstreamFactory;
  model: string;
  language?: string;
  /** Session-timeline position of this connection's first sample. */
  offsetMs: number;
  /** Who the session's Results say produced them. */
  context?: ResultsContext;
  /**
   * Silence (ms) after which the server VAD ends an utterance; `false`: no VAD, finals only on Finalize or
   * CloseStream; undefined: the upstream's default.
   */
  endpointingMs?: number | false;
  emit(message: ClientMessage): void;
  /** The connection ended without `close()` being called. */
  onDrop(link: UpstreamLink, reason: string, refusal?: UpstreamRefusal): void;
  /** Socket bytes in flight above which we hold audio back. */
  maxBufferedBytes?: number;
  /** Held-back bytes above which the oldest audio is dropped (and the client told). */
  maxQueueBytes?: number;
  /** Most audio kept for replay. */
  maxReplayMs?: number;
  /** A connection not open by then counts as dropped. */
  connectTimeoutMs?: number;
  /**
   * An open connection that owes a transcript and delivers none for this long counts as dropped (a stalled
   * upstream keeps its socket open): the session reconnects and replays the undelivered audio. Default 3 s:
   * realtime transcripts take well under that, a false alarm costs one reconnect, and a CloseStream (which waits
   * 5 s) still gets the replayed transcript.
   */
  stallTimeoutMs?: number;
  now?: () => number;
}

/** One realtime connection's lifetime; see the file comment. */
export class UpstreamLink {
  readonly tracker: TranscriptTracker;
  state: "connecting" | "open" | "closed" = "connecting";
  openedAtMs = 0;
  #options: LinkOptions;
  #upstream: Upstream | undefined;
  #outbox: Outbox;
  #appendedSamples = 0;
  #replay: ReplayBuffer;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #stopStallWatch: (() => void) | undefined;
  /** When a transcript was last delivered, or when one started to be owed (ms). */
  #progressAtMs = 0;
  #waiters: Array<() => void> = [];
  #closing = false;
  #now: () => number;

  constructor(options: LinkOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.tracker = new TranscriptTracker(options.offsetMs, options.context);
    this.#outbox = new Outbox(options.maxQueueBytes ?? 2_000_000, options.maxBufferedBytes ?? 1_000_000);
    this.#replay = new ReplayBuffer((options.maxReplayMs ?? 60_000) * SAMPLES_PER_MS);
  }

  /** Opens the connection (separate from construction so a reconnect can wait out its backoff). */
  connect(): void {
    if (this.#closing || this.#upstream) return;
    this.#upstream = this.#options.connect({
      onOpen: () => this.#onOpen(),
      onEvent: (event) => {
        if (this.state === "closed") return;
        if (event.type === "conversation.item.input_audio_transcription.failed") {
          // The item's audio is still held for replay: a fresh connection transcribes it again (the session
          // gives up with 1014 after repeated failures), so a transient upstream error loses no audio.
          const error = (event as { error?: { message?: unknown } }).error;
          this.#upstream?.close();
          return this.#onClose(`transcription failed upstream: ${String(error?.message ?? "no reason given")}`);
        }
        const owedBefore = this.tracker.outstanding;
        const messages = this.tracker.handle(event);
        if (owedBefore === 0 || this.tracker.outstanding < owedBefore) this.#progressAtMs = this.#now();
        for (const message of messages) this.#options.emit(message);
        this.#replay.forgetBefore(this.#replayFromSample());
        this.#notify();
      },
      onClose: (reason, refusal) => this.#onClose(reason, refusal),
    });
    // A silent network (no refusal, no answer) would otherwise leave the link connecting forever.
    this.#connectTimer = setTimeout(() => {
      if (this.state !== "connecting") return;
      this.#upstream?.close();
      this.#onClose("connect timeout");
    }, this.#options.connectTimeoutMs ?? 10_000);
  }

  /** Milliseconds of audio appended to this link. */
  get appendedMs(): number {
    return this.#appendedSamples / SAMPLES_PER_MS;
  }

  /** Appends 24 kHz mono PCM. */
  append(pcm: Int16Array): void {
    if (pcm.length === 0 || this.state === "closed") return;
    this.#appendedSamples += pcm.length;
    this.#replay.push(pcm);
    this.#enqueue({ kind: "audio", pcm });
  }

  /**
   * Commits the buffer if at least 100 ms is uncommitted and it is not just trailing silence; returns whether it
   * did. `fromFinalize` marks its final as the client's Finalize's.
   */
  commit(fromFinalize = false): boolean {
    if (this.state === "closed" || this.tracker.uncommittedMs(this.appendedMs) < MIN_COMMIT_MS) return false;
    if (!this.tracker.worthCommitting) return false;
    if (this.tracker.outstanding === 0) this.#progressAtMs = this.#now();
    this.tracker.noteManualCommit(this.appendedMs, fromFinalize);
    this.#enqueue({ kind: "commit" });
    return true;
  }

  /** Audio whose transcript is not delivered yet, and where it starts on the session timeline. */
  unfinishedAudio(): { offsetMs: number; chunks: Int16Array[] } {
    const { startSample, chunks } = this.#replay.from(this.#replayFromSample());
    return { offsetMs: this.tracker.offsetMs + startSample / SAMPLES_PER_MS, chunks };
  }

  /**
   * Sends the finals held behind an earlier item that has not come (the session is closing and waits no
   * longer): better out of order than lost.
   */
  releaseHeld(): void {
    for (const message of this.tracker.releaseHeld()) this.#options.emit(message);
  }

  /** Resolves when no transcript is outstanding, the link is closed, or `timeoutMs` passes. */
  drain(timeoutMs: number): Promise<void> {
    if (this.tracker.outstanding === 0 || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  /** Closes on purpose; no drop is reported. */
  close(): void {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#upstream?.close();
    if (!this.#upstream) this.#onClose("closed before connecting");
  }

  #onOpen(): void {
    if (this.state !== "connecting") return;
    clearTimeout(this.#connectTimer);
    this.state = "open";
    this.openedAtMs = this.#now();
    this.#progressAtMs = this.openedAtMs;
    this.#watchForStall();
    const language = this.#options.language;
    const endpointingMs = this.#options.endpointingMs;
    const turnDetection =
      endpointingMs === false
        ? null
        : { type: "server_vad" as const, ...(endpointingMs === undefined ? {} : { silence_duration_ms: endpointingMs }) };
    this.#upstream!.send({
      type: "session.update",
      session: {
        type: "transcription",
        audio: {
          input: {
            format: { type: "audio/pcm", rate: 24_000 },
            transcription: { model: this.#options.model, ...(language ? { language } : {}) },
            turn_detection: turnDetection,
          },
        },
      },
    });
    this.#flush();
  }

  /** Treats an open connection that owes transcripts and delivers none for stallTimeoutMs as dropped. */
  #watchForStall(): void {
    const stallMs = this.#options.stallTimeoutMs ?? 3_000;
    this.#stopStallWatch = everyPeriod(Math.min(250, stallMs / 4), () => {
      if (this.state !== "open" || this.tracker.outstanding === 0) return;
      const silentMs = this.#now() - this.#progressAtMs;
      if (silentMs < stallMs) return;
      this.#upstream?.close();
      this.#onClose(`upstream stalled: no transcript for ${silentMs} ms`);
    });
  }

  #onClose(reason: string, refusal?: UpstreamRefusal): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#stopStallWatch?.();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#notify();
    if (!this.#closing) this.#options.onDrop(this, reason, refusal);
  }

  #enqueue(item: Parameters<Outbox["push"]>[0]): void {
    const droppedSamples = this.#outbox.push(item);
    this.#flush();
    if (droppedSamples === 0) return;
    // Upstream never hears the dropped audio, so its later positions move earlier by that much.
    this.tracker.offsetMs += droppedSamples / SAMPLES_PER_MS;
    this.#options.emit({
      type: "Error",
      code: "backpressure",
      message: `upstream is not keeping up; dropped ${Math.round(droppedSamples / SAMPLES_PER_MS)} ms of audio`,
    });
  }

  #flush(): void {
    if (this.state !== "open" || !this.#upstream || this.#outbox.flush(this.#upstream)) return;
    // The socket has no drain event we can rely on: poll until it empties.
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flush();
    }, 20);
  }

  #replayFromSample(): number {
    return Math.round(this.tracker.replayFromMs() * SAMPLES_PER_MS);
  }

  #notify(): void {
    if (this.tracker.outstanding > 0 && this.state !== "closed") return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const done of waiters) done();
  }
}
