/**
 * Past the ladder's limit with the load built up as in production: the failing step's session count opened one
 * after another at RAMP_PER_S, each streaming from the moment it is open. What the early refusal is for: once
 * the transcribers report they cannot keep up, the gateway should answer new sessions 503
 * `transcriber_overloaded` before the upgrade instead of their link backing up until open sessions are cut
 * with 1013. Reports how many were offered, opened, refused (and why, from the gateway's rejections by reason
 * on /stats), cut, and what the sessions that opened lost and lagged.
 */
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import { poolIds, prewarmedPoolEnv, type StandinProcess, standinEnv, startGateway, startStandin } from "../procs.ts";
import type { Report } from "../report.ts";
import { type CapacityAudio, speechPacketsBase64 } from "./capacity-compare.ts";

/** What every capacity session asks for: 48 kHz mono Opus. */
export const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/** Sessions opened per second: slower than the overload report's three one-second windows can follow. */
const RAMP_PER_S = 20;
const WINDOW_MS = 10_000;

/** The parts of the gateway's /stats this run reads. */
interface Stats {
  instances: { link: { bytes: number; behindMs: number } | null }[];
  totals: { rejections: Record<string, number> };
}

/** The ramped run at `sessions`; the row the report keeps under `<ladder>.overload`. */
export async function overloadRun(gateway: { listenUrl: string; stats(): Promise<Stats> }, sessions: number, packetsBase64: string[]) {
  const urls = Array.from({ length: sessions }, (_, i) => `${gateway.listenUrl}?sessionId=ovl-${sessions}-${i}&${QUERY}`);
  const before = (await gateway.stats()).totals.rejections;
  const rampMs = (sessions * 1000) / RAMP_PER_S;
  // The links' backlog as /stats shows it, every 250 ms: the most held, and when one was first a second behind.
  const startedAt = performance.now();
  const links = { maxKiB: 0, firstBehindAtMs: undefined as number | undefined };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const stats = await gateway.stats();
      for (const { link } of stats.instances) {
        if (!link) continue;
        links.maxKiB = Math.max(links.maxKiB, Math.round(link.bytes / 1024));
        if (link.behindMs >= 1_000) links.firstBehindAtMs ??= Math.round(performance.now() - startedAt);
      }
      await Bun.sleep(250);
    }
  })();
  const result = await runLoad(
    echoSpec(urls, {
      mode: "audio",
      packetsBase64,
      awaitText: true,
      rampPerS: RAMP_PER_S,
      openTimeoutMs: 10_000,
      // The window starts once every session has been tried.
      warmupMs: rampMs + 2_000,
      durationMs: WINDOW_MS,
      drainMs: 1_500,
      pingEvery: 5,
      closeStream: true,
    }),
  ).result;
  sampling = false;
  await sampler;
  const after = (await gateway.stats()).totals.rejections;
  const refusedBy = Object.fromEntries(
    Object.entries(after)
      .map(([reason, n]) => [reason, n - (before[reason] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const cut = Object.values(result.closedEarly).reduce((a, b) => a + b, 0);
  const audio = result.audio;
  return {
    offered: sessions,
    ramp_per_s: RAMP_PER_S,
    opened: result.sessions,
    refused: result.refused ?? 0,
    refused_by_gateway: refusedBy,
    cut_after_open: result.closedEarly,
    ramp_ms: Math.round(result.openMs),
    ...(result.firstEarlyCloseMs !== undefined ? { first_cut_at_ms: Math.round(result.firstEarlyCloseMs) } : {}),
    ...(result.refusedReasons?.[0] ? { first_refusal: result.refusedReasons[0] } : {}),
    link_backlog_max_kib: links.maxKiB,
    ...(links.firstBehindAtMs !== undefined ? { link_first_behind_1s_at_ms: links.firstBehindAtMs } : {}),
    frames_lost_by_open_sessions: audio?.framesLost,
    frames_sent: audio?.framesSent,
    final_lag_ms: audio ? { p50: Math.round(audio.finalLagMs.p50), p99: Math.round(audio.finalLagMs.p99) } : undefined,
    hop_p99_ms: Math.round(result.latencyMs.p99 * 10) / 10,
    /** What the early refusal is for: sessions turned away before the upgrade, none cut once open. */
    refused_early_not_cut: (result.refused ?? 0) > 0 && cut === 0,
    ...(result.ok ? {} : { failure: result.error }),
  };
}

/** What an overload run is given: the pool, the sessions ramped in, and the containers' CPU cap if any. */
export interface OverloadOptions {
  containers: number;
  sessions: number;
  /** CONTAINER_CPUS; unset: uncapped, so what runs out first is the machine's CPU. */
  cpus?: string;
  /** The stand-in to point the transcribers at (one is started and stopped when not given). */
  standin?: StandinProcess;
  /** What the sessions stream (default: the tone, as the ladder does). */
  audio?: CapacityAudio;
}

/**
 * The ramped run on a gateway of its own, at the product's defaults (HOST_CPU_MAX among them, which the ladder
 * turns off to measure what the data path carries). Two cases are reported: `capacity_capped`, transcribers
 * capped by CONTAINER_CPUS (a quarter of a core each) on a machine that still has CPU to spare, the overload a
 * production deployment meets first; and `<ladder>.overload` / `capacity_overload`, uncapped containers on a
 * machine whose CPU runs out under them.
 */
export async function overloadSection(options: OverloadOptions) {
  const standin = options.standin ?? (await startStandin());
  const cap: Record<string, string> = options.cpus ? { CONTAINER_CPUS: options.cpus } : {};
  const gateway = await startGateway(prewarmedPoolEnv(options.containers, { ...standinEnv(standin), ...cap }));
  try {
    await gateway.waitRunning(poolIds(options.containers));
    const row = await overloadRun(gateway, options.sessions, await speechPacketsBase64(options.audio));
    return { containers: options.containers, ...(options.cpus ? { container_cpus: Number(options.cpus) } : {}), ...row };
  } finally {
    await gateway.stop();
    if (!options.standin) await standin.stop();
  }
}

/** `--only=capacity_capped` or `capacity_overload`: one ramped run, reported under `key`. */
export async function overloadOnlySection(report: Report, key: string, options: OverloadOptions): Promise<void> {
  const cap = options.cpus ? `CONTAINER_CPUS=${options.cpus}` : "uncapped";
  report.progress(`${key}: ${options.sessions} sessions ramped at ${RAMP_PER_S}/s into ${options.containers} transcribers (${cap})`);
  const row = await overloadSection(options);
  report.progress(`  ${JSON.stringify(row)}`);
  report.set(key, row);
}
