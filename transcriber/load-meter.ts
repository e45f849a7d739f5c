/**
 * The transcriber's own load, for `/health`: how late a 100 ms tick fires (event-loop lag: every session's frames
 * wait that long), the process's CPU share of one core, and whether, from those, it can take another session.
 * The gateway reads it before routing a new session here, so a transcriber that cannot keep up is refused a
 * session early (503) instead of cutting open ones later (1013 transcriber_backpressure).
 */

/** What `/health` reports under `load`. */
export interface LoadReport {
  /** Worst tick lateness over the last window, ms. */
  eventLoopLagMs: number;
  /** CPU time over the last window / its wall time (1 = one core busy). */
  cpuShare: number;
  /** False once lag or CPU says another session would not be kept up with. */
  accepting: boolean;
}

export interface LoadMeterOptions {
  tickMs?: number;
  /** How many ticks make a window (the report covers the last complete one). */
  windowTicks?: number;
  /** Lag above which no new session is taken. */
  maxLagMs?: number;
  /** CPU share above which no new session is taken (a single-threaded server saturates at 1). */
  maxCpuShare?: number;
  now?: () => number;
  cpuMs?: () => number;
}

/** Samples the event loop and CPU; see the file comment. Call `stop()` when the server stops. */
export class LoadMeter {
  #report: LoadReport = { eventLoopLagMs: 0, cpuShare: 0, accepting: true };
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: LoadMeterOptions = {}) {
    const tickMs = options.tickMs ?? 100;
    const windowTicks = options.windowTicks ?? 10;
    const maxLagMs = options.maxLagMs ?? 50;
    const maxCpuShare = options.maxCpuShare ?? 0.85;
    const now = options.now ?? (() => performance.now());
    const cpuMs =
      options.cpuMs ??
      (() => {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1000;
      });
    let expected = now() + tickMs;
    let windowStart = now();
    let windowCpu = cpuMs();
    let worstLagMs = 0;
    let ticks = 0;
    this.#timer = setInterval(() => {
      const at = now();
      worstLagMs = Math.max(worstLagMs, at - expected);
      expected = at + tickMs;
      if (++ticks < windowTicks) return;
      const cpu = cpuMs();
      const cpuShare = (cpu - windowCpu) / Math.max(1, at - windowStart);
      this.#report = {
        eventLoopLagMs: Math.round(worstLagMs),
        cpuShare: Math.round(cpuShare * 100) / 100,
        accepting: worstLagMs <= maxLagMs && cpuShare <= maxCpuShare,
      };
      ticks = 0;
      worstLagMs = 0;
      windowStart = at;
      windowCpu = cpu;
    }, tickMs);
    this.#timer.unref?.();
  }

  /** The last complete window's figures. */
  get report(): LoadReport {
    return this.#report;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
