/**
 * What the status page's charts draw: open sessions sampled over time, and recent start and wake latencies.
 * Both are bounded rings, so a gateway that runs for months keeps a few kilobytes here.
 */

export interface SessionSample {
  atMs: number;
  open: number;
}

export interface StartSample {
  atMs: number;
  kind: "cold" | "wake";
  ms: number;
  instanceId: string;
}

/** Samples closer than this share one point: a burst of sessions does not push the history out of the ring. */
const MIN_STEP_MS = 250;

/** A fixed-capacity ring: push drops the oldest once full. */
export class Ring<T> {
  private readonly items: T[] = [];
  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  last(): T | undefined {
    return this.items.at(-1);
  }

  toArray(): T[] {
    return [...this.items];
  }
}

export interface StatusSeriesOptions {
  /** Samples kept for the open-sessions chart (at one per `sampleEveryMs`, 300 is five minutes). */
  sessionSamples?: number;
  /** Start latencies kept for the latency chart. */
  startSamples?: number;
  clock?: () => number;
}

export class StatusSeries {
  readonly sessions: Ring<SessionSample>;
  readonly starts: Ring<StartSample>;
  private readonly clock: () => number;

  constructor(options: StatusSeriesOptions = {}) {
    this.sessions = new Ring(options.sessionSamples ?? 300);
    this.starts = new Ring(options.startSamples ?? 100);
    this.clock = options.clock ?? Date.now;
  }

  /** Records the current open-session count (the hub calls this on a timer and on every session change). */
  sampleSessions(open: number): void {
    const last = this.sessions.last();
    const atMs = this.clock();
    // Changes within one step collapse into one point holding the step's peak, so a burst keeps the ring's
    // time span and a session shorter than a step still shows; the next sample brings the value down.
    if (last && atMs - last.atMs < MIN_STEP_MS) last.open = Math.max(last.open, open);
    else this.sessions.push({ atMs, open });
  }

  recordStart(instanceId: string, kind: "cold" | "wake", ms: number): void {
    this.starts.push({ atMs: this.clock(), kind, ms: Math.round(ms * 10) / 10, instanceId });
  }

  toJSON() {
    return { sessions: this.sessions.toArray(), starts: this.starts.toArray() };
  }
}
