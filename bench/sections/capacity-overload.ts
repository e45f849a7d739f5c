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
import { ADMISSION_OFF, poolIds, prewarmedPoolEnv, type StandinProcess, standinEnv, startGateway, startStandin } from "../procs.ts";
import type { Report } from "../report.ts";
import { round3 } from "../stats.ts";
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
  machines?: { busy: number; sessions: number; costPerSession: number | null; withOneMore: number }[];
}

/** How a run opens its sessions beyond the ramp. */
export interface RunShape {
  /** A burst after the ramp: the sessions from `from` on all opened at once, `holdMs` after the ramp of the others. */
  burst?: { from: number; holdMs: number };
  /** How many more times a refused session tries, RETRY_AFTER_MS apart (clients honouring Retry-After). */
  retries?: number;
}

/** The gateway's Retry-After for transcriber_overloaded. */
const RETRY_AFTER_MS = 2_000;

/** The ramped run at `sessions` (the row the report keeps under `<ladder>.overload`), or a ramp and a burst. */
export async function overloadRun(
  gateway: { listenUrl: string; stats(): Promise<Stats> },
  sessions: number,
  packetsBase64: string[],
  { burst, retries = 0 }: RunShape = {},
) {
  const urls = Array.from({ length: sessions }, (_, i) => `${gateway.listenUrl}?sessionId=ovl-${sessions}-${i}&${QUERY}`);
  const before = (await gateway.stats()).totals.rejections;
  const burstAtMs = burst ? (burst.from * 1000) / RAMP_PER_S + burst.holdMs : undefined;
  const rampMs = burstAtMs ?? (sessions * 1000) / RAMP_PER_S;
  // The links' backlog as /stats shows it, every 250 ms: the most held, and when one was first a second behind.
  const startedAt = performance.now();
  const links = { maxKiB: 0, firstBehindAtMs: undefined as number | undefined };
  const machineSeen = { before: undefined as object | undefined, after: [] as object[] };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const stats = await gateway.stats();
      // What the gateway saw of the machine just before the burst and in its first second.
      const sinceBurstMs = burstAtMs === undefined ? undefined : performance.now() - startedAt - burstAtMs;
      if (sinceBurstMs !== undefined && sinceBurstMs < 1_000 && stats.machines?.[0]) {
        const { busy, sessions, costPerSession, withOneMore } = stats.machines[0];
        const seen = {
          at_ms: Math.round(sinceBurstMs),
          busy,
          sessions,
          cost_per_session: costPerSession,
          with_one_more: round3(withOneMore),
        };
        if (sinceBurstMs < 0) machineSeen.before = seen;
        else machineSeen.after.push(seen);
      }
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
      ...(burst ? { burstFrom: burst.from, burstAtMs } : {}),
      ...(retries ? { retries, retryAfterMs: RETRY_AFTER_MS } : {}),
      openTimeoutMs: 10_000,
      // The window starts once every session has been tried (retries too).
      warmupMs: rampMs + 2_000 + retries * RETRY_AFTER_MS,
      durationMs: WINDOW_MS,
      drainMs: 1_500,
      pingEvery: 5,
      closeStream: true,
    }),
  ).result;
  sampling = false;
  await sampler;
  const stats = await gateway.stats();
  const after = stats.totals.rejections;
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
    ...(burst ? { ramped: burst.from, at_once: sessions - burst.from, burst_at_ms: Math.round(burstAtMs!) } : {}),
    opened: result.sessions,
    refused: result.refused ?? 0,
    ...(retries ? { retries, taken_on_retry: result.takenOnRetry ?? 0 } : {}),
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
    /** What the gateway learned one session costs the machine (share of all its cores), as /stats says at the end. */
    machine_cost_per_session: stats.machines?.[0]?.costPerSession ?? null,
    ...(burst ? { machine_at_burst: machineSeen } : {}),
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
  /** A burst after the ramp, and retries of refused sessions. */
  shape?: RunShape;
  /** More of the gateway's environment (HOST_CPU_MAX=1 for a baseline). */
  env?: Record<string, string>;
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
  // At the product's defaults: the data-path pool's environment without its admission switch.
  const { HOST_CPU_MAX: _off, ...pool } = prewarmedPoolEnv(options.containers, standinEnv(standin));
  const gateway = await startGateway({ ...pool, ...cap, ...options.env });
  try {
    await gateway.waitRunning(poolIds(options.containers));
    const row = await overloadRun(gateway, options.sessions, await speechPacketsBase64(options.audio), options.shape);
    return { containers: options.containers, ...(options.cpus ? { container_cpus: Number(options.cpus) } : {}), ...row };
  } finally {
    await gateway.stop();
    if (!options.standin) await standin.stop();
  }
}

/**
 * `--only=capacity_capped` or `capacity_overload`: one ramped run, reported under `key`, and the same again with
 * each refused session trying BURST_RETRIES more times after the Retry-After (under `key.retrying`).
 */
export async function overloadOnlySection(report: Report, key: string, options: OverloadOptions): Promise<void> {
  const cap = options.cpus ? `CONTAINER_CPUS=${options.cpus}` : "uncapped";
  report.progress(`${key}: ${options.sessions} sessions ramped at ${RAMP_PER_S}/s into ${options.containers} transcribers (${cap})`);
  const row = await overloadSection(options);
  report.progress(`  ${JSON.stringify(row)}`);
  await Bun.sleep(5_000);
  report.progress(`${key}: the same, each refused session trying ${BURST_RETRIES} more times ${RETRY_AFTER_MS / 1000} s apart`);
  const retrying = await overloadSection({ ...options, shape: { retries: BURST_RETRIES } });
  report.progress(`  ${JSON.stringify(retrying)}`);
  report.set(key, { ...row, retrying });
}

/** How long the ramped sessions stream before the burst: longer than the machine's figure trails them (3 s). */
const BURST_HOLD_MS = 6_000;
/** The retrying run's tries after the first. */
const BURST_RETRIES = 4;

/**
 * `--only=capacity_burst` (`--burst=RAMPED,AT_ONCE`, default 100,300): a gateway serving RAMPED sessions (ramped at
 * RAMP_PER_S, then streaming for BURST_HOLD_MS) gets AT_ONCE more all at once, as when a peer gateway's clients
 * reconnect together. Three times, each on a gateway of its own over uncapped transcribers: the baseline with the
 * machine's figure off (HOST_CPU_MAX=1: every session taken); at the defaults, where the gateway counts the
 * sessions opened since the machine's last figure at the cost per session it learned while the first ones ran;
 * and at the defaults with each refused session trying again after the Retry-After, as a client should.
 */
export async function burstSection(report: Report, options: { containers: number; ramped: number; atOnce: number }): Promise<void> {
  const { containers, ramped, atOnce } = options;
  const standin = await startStandin();
  const rows: Record<string, object> = {};
  try {
    for (const [name, env, retries] of [
      ["figure_off", ADMISSION_OFF, 0],
      ["defaults", {}, 0],
      ["defaults_retrying", {}, BURST_RETRIES],
    ] as const) {
      const tries = retries ? `, a refused one trying ${retries} more times ${RETRY_AFTER_MS / 1000} s apart` : "";
      report.progress(
        `capacity_burst (${name}): ${ramped} sessions ramped at ${RAMP_PER_S}/s, then ${atOnce} at once${tries}, into ${containers} transcribers`,
      );
      const shape = { burst: { from: ramped, holdMs: BURST_HOLD_MS }, retries };
      const row = await overloadSection({ containers, sessions: ramped + atOnce, standin, env, shape });
      report.progress(`  ${JSON.stringify(row)}`);
      rows[name] = row;
      await Bun.sleep(5_000);
    }
  } finally {
    await standin.stop();
  }
  report.set("capacity_burst", rows);
}
