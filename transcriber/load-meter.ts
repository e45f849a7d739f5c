/**
 * The transcriber's own load, for `/health`: how late a 100 ms tick fires (event-loop lag: every session's frames
 * wait that long), the JavaScript thread's CPU share of one core, and whether, from those, it can take another
 * session. The gateway reads it before routing a new session here, so a transcriber that cannot keep up is
 * refused a session early (503) instead of cutting open ones later (1013 transcriber_backpressure).
 *
 * Only a sustained overload stops it accepting (`sustainWindows` windows in a row over a limit): one burst of
 * frames lags the loop for a moment and is worked off. The CPU share is the main thread's own (Linux's
 * /proc/self/task/<pid>/stat), not the process's, so the runtime's GC and compiler threads do not count.
 *
 * It also reports how busy the whole machine has been over the last two windows (host-cpu.ts: the least busy of
 * them, so a moment's work such as a container start does not count). That figure does not change
 * `accepting`: the gateway weighs it against its own HOST_CPU_MAX, since how full a shared machine may get is
 * the operator's call, not each transcriber's.
 */
import { readFileSync } from "node:fs";
import { busyShare, type HostTicks, hostTicksReader, machineId } from "./host-cpu.ts";

/** What `/health` reports under `load`. */
export interface LoadReport {
  /** Worst tick lateness over the last window, ms. */
  eventLoopLagMs: number;
  /** CPU time over the last window / its wall time (1 = one core busy). */
  cpuShare: number;
  /** False once lag or CPU says another session would not be kept up with. */
  accepting: boolean;
  /** When not accepting for a reason other than lag or CPU (a backend's own limit), what it is. */
  limit?: string;
  /** The CPU share over which it stops accepting (its mark: 85 % of a core, or of its CONTAINER_CPUS cap). */
  cpuMax?: number;
  /** Its open sessions over the last window, on average: the count `cpuShare` covers. */
  sessions?: number;
  /**
   * How busy the whole machine has been (0-1, every core, stolen time counted): the least of its last
   * `hostSustainWindows` windows, so only a sustained load counts; absent off Linux.
   */
  hostCpuBusy?: number;
  /** Which machine it is (host-cpu.ts machineId), with hostCpuBusy: transcribers that share one report the same. */
  hostId?: string;
}

export interface LoadMeterOptions {
  tickMs?: number;
  /** How many ticks make a window (the report covers the last complete one). */
  windowTicks?: number;
  /** Lag above which no new session is taken. */
  maxLagMs?: number;
  /** CPU share above which no new session is taken (a single-threaded server saturates at 1). */
  maxCpuShare?: number;
  /** Consecutive windows over a limit before the report stops accepting (one good window accepts again). */
  sustainWindows?: number;
  now?: () => number;
  cpuMs?: () => number;
  /**
   * Windows the machine's figure is the least of (default 2): longer than a container start on a small machine,
   * short enough that a ramp of sessions is refused within a couple of seconds of filling it.
   */
  hostSustainWindows?: number;
  /** The host's cumulative ticks (host-cpu.ts); null for none. */
  hostTicks?: (() => HostTicks | undefined) | null;
  /** Its open sessions now, sampled every tick for the window's average; none reported without it. */
  sessions?: () => number;
}

/** Share of a core over which the JavaScript thread counts as saturated. */
const CPU_MARK = 0.85;

/**
 * The CPU share over which a transcriber with `containerCpus` cores takes no new session: 85 % of what its one
 * JavaScript thread can get, which is one core, or the container's cap when that is less (CONTAINER_CPUS=0.25:
 * the thread is throttled at a quarter of a core, and full there long before its loop lags).
 */
export function maxCpuShareFor(containerCpus: number): number {
  return CPU_MARK * Math.min(1, containerCpus);
}

/** Turns each window's worst lag and CPU share into a report: over a limit `sustain` windows in a row stops accepting. */
export class OverloadJudge {
  #overWindows = 0;

  constructor(
    private readonly maxLagMs: number,
    private readonly maxCpuShare: number,
    private readonly sustain: number,
  ) {}

  window(worstLagMs: number, cpuShare: number): LoadReport {
    this.#overWindows = worstLagMs > this.maxLagMs || cpuShare > this.maxCpuShare ? this.#overWindows + 1 : 0;
    return {
      eventLoopLagMs: Math.round(worstLagMs),
      cpuShare: Math.round(cpuShare * 1000) / 1000,
      accepting: this.#overWindows < this.sustain,
      cpuMax: Math.round(this.maxCpuShare * 1000) / 1000,
    };
  }
}

/** Samples the event loop and CPU; see the file comment. Call `stop()` when the server stops. */
export class LoadMeter {
  #report: LoadReport = { eventLoopLagMs: 0, cpuShare: 0, accepting: true };
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: LoadMeterOptions = {}) {
    const tickMs = options.tickMs ?? 100;
    const windowTicks = options.windowTicks ?? 10;
    const maxLagMs = options.maxLagMs ?? 100;
    const maxCpuShare = options.maxCpuShare ?? CPU_MARK;
    const sustainWindows = options.sustainWindows ?? 3;
    const now = options.now ?? (() => performance.now());
    const cpuMs = options.cpuMs ?? mainThreadCpuMs();
    const hostTicks = options.hostTicks === undefined ? hostTicksReader() : (options.hostTicks ?? undefined);
    const hostId = hostTicks ? machineId() : undefined;
    const judge = new OverloadJudge(maxLagMs, maxCpuShare, sustainWindows);
    let expected = now() + tickMs;
    let windowStart = now();
    let windowCpu = cpuMs();
    let windowHost = hostTicks?.();
    const hostWindows: number[] = [];
    const hostSustainWindows = options.hostSustainWindows ?? 2;
    let worstLagMs = 0;
    let ticks = 0;
    let sessionTicks = 0;
    this.#timer = setInterval(() => {
      const at = now();
      worstLagMs = Math.max(worstLagMs, at - expected);
      expected = at + tickMs;
      if (options.sessions) sessionTicks += options.sessions();
      if (++ticks < windowTicks) return;
      const cpu = cpuMs();
      const cpuShare = (cpu - windowCpu) / Math.max(1, at - windowStart);
      const host = hostTicks?.();
      const hostBusy = windowHost && host ? busyShare(windowHost, host) : undefined;
      this.#report = judge.window(worstLagMs, cpuShare);
      if (options.sessions) this.#report.sessions = Math.round((sessionTicks / ticks) * 10) / 10;
      if (hostBusy !== undefined) {
        hostWindows.push(hostBusy);
        if (hostWindows.length > hostSustainWindows) hostWindows.shift();
        // The least busy of the last windows: the machine has been at least this busy all along, so a moment's
        // work (a container starting, a build) does not read as a full machine.
        const sustained = Math.min(...hostWindows);
        Object.assign(this.#report, { hostCpuBusy: Math.round(sustained * 100) / 100, hostId });
      }
      windowHost = host;
      ticks = 0;
      sessionTicks = 0;
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

/** Clock ticks per second in /proc's stat (USER_HZ: 100 on every Linux architecture Bun runs on). */
const USER_HZ = 100;

/** CPU time (utime + stime) in ms from a /proc `stat` file: `/proc/<pid>/stat`, or one thread's under `task/`. */
export function procStatCpuMs(statPath: string): number {
  const stat = readFileSync(statPath, "utf8");
  // Fields after the command (which may hold spaces) start past its closing parenthesis; utime, stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

/**
 * A reader of the JavaScript thread's CPU time in ms: its utime + stime from /proc (the main thread's task id is
 * the pid); where that file is not there (not Linux), the whole process's `process.cpuUsage()`.
 */
export function mainThreadCpuMs(statPath = `/proc/self/task/${process.pid}/stat`): () => number {
  const fromProc = () => procStatCpuMs(statPath);
  try {
    if (Number.isFinite(fromProc())) return fromProc;
  } catch {
    // not Linux, or /proc not mounted
  }
  return () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  };
}
