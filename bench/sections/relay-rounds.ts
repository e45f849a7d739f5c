/**
 * The relay comparison in interleaved rounds: every target (straight to the containers, each gateway, each
 * HAProxy) gets one short window per round, in an order rotated from round to round, with the same load worker
 * settings (warm-up, pacing, what is counted). A burst of other load on the machine then lands on one round of
 * one target, not on one target's whole figure; each target's figure is the median over its rounds.
 */
import { runLoad } from "../load/drive.ts";
import { echoSpec, type LoadResult, type LoadSpec } from "../load/spec.ts";
import { cpuMs } from "../procs.ts";
import { round3 } from "../stats.ts";

/** One way in to the echo containers. */
export interface RelayTarget {
  name: string;
  /** One WebSocket URL per session; `tag` makes the session ids of each run distinct. */
  urls(sessions: number, tag: string): string[];
  /** The proxy's process, whose CPU per frame is reported (none for the straight path). */
  pid?: number;
  /** The proxy's RSS, KiB, sampled in the middle of each window. */
  rssKiB?: () => number;
  /** Overrides the rounds' pacing for this target (a diagnostic variant). */
  pacing?: RoundsOptions["pacing"];
}

export interface RoundsOptions {
  sessions: number;
  rounds: number;
  /** Measured window of one target in one round. */
  windowMs: number;
  /** Sending before each window, the same for every target. */
  warmupMs: number;
  drainMs: number;
  pacing: NonNullable<LoadSpec["pacing"]>;
}

/** One target's figures over the rounds. */
export interface TargetFigures {
  /** Medians over the rounds of each round's p50 and p99, ms. */
  p50: number;
  p99: number;
  /** Each round's p99, ms, in round order. */
  p99_rounds: number[];
  msgs_per_s: number;
  /** Frames sent and not echoed by the end of the drain, over all rounds. */
  lost: number;
  /** Median over the rounds of the proxy's CPU per frame relayed one way (a round trip is two frames). */
  cpu_us_per_frame?: number;
  /**
   * RSS of the proxy in the middle of its first measured window, KiB: later rounds add what the allocator kept
   * from the earlier ones (and from the other targets' sessions through the same process).
   */
  rss_kib?: number;
}

/**
 * Runs `rounds` rounds over `targets` (after one unmeasured round, so each path's code is warm before any
 * window) and returns each target's figures. Throws naming the target and round of a run that failed.
 */
export async function interleavedRounds(
  targets: readonly RelayTarget[],
  options: RoundsOptions,
  progress: (line: string) => void,
): Promise<Map<string, TargetFigures>> {
  const samples = new Map<string, Array<{ result: LoadResult; cpuUsPerFrame?: number; rssKiB?: number }>>();
  for (const target of targets) samples.set(target.name, []);
  const short = { ...options, windowMs: Math.min(1_000, options.windowMs), warmupMs: Math.min(500, options.warmupMs) };
  for (let round = -1; round < options.rounds; round++) {
    const order = roundOrder(targets, Math.max(0, round));
    const line: string[] = [];
    for (const target of order) {
      const measured = await runTarget(target, round < 0 ? short : options, `r${round + 1}`);
      if (round < 0) continue;
      samples.get(target.name)!.push(measured);
      line.push(`${target.name} ${measured.result.latencyMs.p99}`);
    }
    progress(round < 0 ? "relay: warm-up round done" : `relay round ${round + 1}/${options.rounds}, p99 ms: ${line.join(", ")}`);
  }
  const figures = new Map<string, TargetFigures>();
  for (const [name, runs] of samples) {
    const cpu = runs.flatMap((r) => (r.cpuUsPerFrame === undefined ? [] : [r.cpuUsPerFrame]));
    const rss = runs.flatMap((r) => (r.rssKiB === undefined ? [] : [r.rssKiB]));
    figures.set(name, {
      p50: median(runs.map((r) => r.result.latencyMs.p50)),
      p99: median(runs.map((r) => r.result.latencyMs.p99)),
      p99_rounds: runs.map((r) => r.result.latencyMs.p99),
      msgs_per_s: Math.round(median(runs.map((r) => r.result.msgsPerS))),
      lost: runs.reduce((sum, r) => sum + r.result.sent - r.result.received, 0),
      ...(cpu.length > 0 ? { cpu_us_per_frame: round3(median(cpu)) } : {}),
      ...(rss.length > 0 ? { rss_kib: rss[0]! } : {}),
    });
  }
  return figures;
}

/** Round `round`'s order: the list rotated by `round`, so over N rounds each target runs once in every slot. */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  return targets.map((_, i) => targets[(i + round) % targets.length]!);
}

/** The p99 ratio of `a` to `b` (medians), and the median of the rounds' own ratios (each pair ran minutes apart at most). */
export function p99Ratio(a: TargetFigures, b: TargetFigures): { p99: number; p99_rounds_median: number; cpu_per_frame?: number } {
  const perRound = a.p99_rounds.map((p99, i) => p99 / b.p99_rounds[i]!);
  return {
    p99: round3(a.p99 / b.p99),
    p99_rounds_median: round3(median(perRound)),
    ...(a.cpu_us_per_frame !== undefined && b.cpu_us_per_frame !== undefined
      ? { cpu_per_frame: round3(a.cpu_us_per_frame / b.cpu_us_per_frame) }
      : {}),
  };
}

async function runTarget(
  target: RelayTarget,
  options: RoundsOptions,
  tag: string,
): Promise<{ result: LoadResult; cpuUsPerFrame?: number; rssKiB?: number }> {
  const { sessions, windowMs, warmupMs, drainMs } = options;
  const pacing = target.pacing ?? options.pacing;
  const run = runLoad(echoSpec(target.urls(sessions, `${target.name}-${tag}`), { durationMs: windowMs, warmupMs, drainMs, pacing }));
  await run.measuring;
  // CPU over the window only: the opening storm and the warm-up fall outside it.
  const cpuAtStart = target.pid === undefined ? 0 : cpuMs(target.pid);
  await Bun.sleep(windowMs / 2);
  const rssKiB = target.rssKiB?.();
  await Bun.sleep(windowMs / 2);
  const cpuUsedMs = target.pid === undefined ? undefined : cpuMs(target.pid) - cpuAtStart;
  const result = await run.result;
  if (!result.ok) throw new Error(`relay ${target.name} (${tag}): ${result.error}`);
  const frames = 2 * result.windowReceived;
  return {
    result,
    ...(cpuUsedMs === undefined ? {} : { cpuUsPerFrame: (cpuUsedMs * 1000) / frames }),
    ...(rssKiB === undefined ? {} : { rssKiB }),
  };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
