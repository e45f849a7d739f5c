/** What the load worker is asked to do, and what it reports (see worker.ts). */

export interface LoadSpec {
  mode: "echo" | "audio" | "idle";
  /** One WebSocket URL per session. */
  urls: string[];
  /** Frames per second per session (50: 20 ms Opus frames). */
  ratePerS: number;
  /**
   * `spread`: the sessions' sends spread evenly over each period (a 1 ms slot each); `burst`: every session sends
   * in the same slot, as a load generator with one timer per session started at once does.
   */
  pacing?: "spread" | "burst";
  /** Bytes per echo frame (the send time sits in the first 8). */
  payloadBytes: number;
  /** Wait for the first text message (the gateway's Metadata) before counting a session as open. */
  awaitText: boolean;
  openConcurrency: number;
  openTimeoutMs: number;
  /** Sending before the measured window starts. */
  warmupMs: number;
  /** The measured window: only frames sent inside it count. */
  durationMs: number;
  /** Waiting for the last echoes after sending stops. */
  drainMs: number;
  /** idle mode: how long the sessions stay open after `ready`. */
  holdMs: number;
  /** audio mode: the Opus packets, sent in a loop. */
  packetsBase64?: string[];
  /** audio mode: one ping every this many frames per session. */
  pingEvery: number;
  /**
   * audio mode: end every session with CloseStream and compare the audio its closing Metadata says was heard
   * with what was sent (frames lost end to end); sessions that do not answer within closeWaitMs count as lost.
   */
  closeStream?: boolean;
  closeWaitMs?: number;
  /**
   * Open the sessions one after another at this many per second, each sending from the moment it is open (the
   * load builds up as it would in production), instead of all first. A session refused before it opens (the
   * gateway's 503) is counted in `refused`, not a failed run. The warm-up counts from the first open.
   */
  rampPerS?: number;
  /**
   * With rampPerS: the sessions from this index on are all opened at once, `burstAtMs` after the first open (a
   * peer gateway's clients reconnecting together onto a gateway that already serves the ramped ones).
   */
  burstFrom?: number;
  burstAtMs?: number;
  /** With rampPerS: how many more times a refused session tries, `retryAfterMs` (default 2,000) apart, as clients honouring Retry-After do. */
  retries?: number;
  retryAfterMs?: number;
}

/** Finals' lag behind the end of the speech they cover, and the frames the transcribers did not hear. */
export interface AudioFigures {
  /** Arrival of each final minus the wall time its audio ended (start + duration after the first frame's send). */
  finalLagMs: { n: number; p50: number; p95: number; p99: number; max: number };
  /** Median lag of the measured window's last third minus its first third: growing lag is a backlog. */
  finalLagGrowthMs: number;
  framesSent: number;
  /** Frames the closing Metadata accounts for (its duration / 20 ms), over sessions that answered. */
  framesHeard: number;
  framesLost: number;
  /** Sessions whose closing Metadata did not arrive in time. */
  unanswered: number;
}

export interface LoadResult {
  event: "result";
  ok: boolean;
  error?: string;
  sessions: number;
  openMs: number;
  sent: number;
  received: number;
  windowReceived: number;
  msgsPerS: number;
  /** Close codes of sessions that closed before the end, by code. */
  closedEarly: Record<string, number>;
  errors: string[];
  errorCount: number;
  texts: number;
  /** Round trip (echo) or ping -> pong (audio) of what was sent inside the window. */
  latencyMs: { n: number; p50: number; p95: number; p99: number; max: number };
  /** audio mode with closeStream. */
  audio?: AudioFigures;
  /** rampPerS runs: sessions whose upgrade was refused (they never opened), and the first few close reasons. */
  refused?: number;
  /** rampPerS runs with retries: sessions taken on a later try. */
  takenOnRetry?: number;
  refusedReasons?: string[];
  /** rampPerS runs: when the first session closed before CloseStream, in ms since the first open. */
  firstEarlyCloseMs?: number;
}

/** Defaults for an echo run; callers override what they vary. */
export function echoSpec(urls: string[], overrides: Partial<LoadSpec> = {}): LoadSpec {
  return {
    mode: "echo",
    urls,
    ratePerS: 50,
    payloadBytes: 120,
    awaitText: false,
    openConcurrency: 50,
    openTimeoutMs: 30_000,
    warmupMs: 2_000,
    durationMs: 30_000,
    drainMs: 1_000,
    holdMs: 0,
    pingEvery: 5,
    ...overrides,
  };
}
