/**
 * The capacity ladder: real-time Opus speech through the gateway (`bun app/main.ts`), real transcriber containers
 * (Podman, host networking) and the stand-in, at growing session counts until a step fails. A step passes with no
 * session closed early, no Error, no frame lost end to end (every session ends with CloseStream; its closing
 * Metadata says how much audio the transcriber heard), finals within FINAL_LAG_LIMIT_MS of the end of the speech
 * they cover (p99 over the window) and the gateway hop's p99 under HOP_LIMIT_MS. Each step reports CPU per
 * real-time session (percent of a core, from /proc/PID/stat over the measured window) and RSS per session of the
 * gateway, the transcribers and the stand-in separately, and the load average it ran under.
 * `CAPACITY_WINDOW_MS` (default 10,000) sets each step's measured window.
 */
import { LABEL_GATEWAY } from "../../runtime/driver.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec, type LoadResult } from "../load/spec.ts";
import {
  ADMISSION_OFF,
  cpuMs,
  cpuTicks,
  loadAverage,
  poolIds,
  prewarmedPoolEnv,
  rssKiB,
  standinEnv,
  startGateway,
  startStandin,
  stealPct,
} from "../procs.ts";
import type { Report } from "../report.ts";
import { round3 } from "../stats.ts";
import { clipOpusPackets, librivoxClips, librivoxMissing } from "../../test/librivox.ts";
import { recognizerMissing } from "../../transcriber/local/availability.ts";
import { type CapacityAudio, speechPacketsBase64 } from "./capacity-compare.ts";
import { overloadSection, QUERY } from "./capacity-overload.ts";

/** Steps of the full ladder; it stops at the first that fails. */
export const CAPACITY_STEPS = [160, 220, 300, 400, 500, 650, 800, 1000];
const HOP_LIMIT_MS = 20;
const FINAL_LAG_LIMIT_MS = 1_000;

/** The processes whose CPU and memory a step reports. */
interface Parts {
  gateway: number[];
  transcribers: number[];
  standin: number[];
}

/** Host pids of the containers a gateway started (the transcriber is each container's only process). */
export function containerPids(gatewayName: string): number[] {
  const ids = Bun.spawnSync(["podman", "ps", "-q", "--filter", `label=${LABEL_GATEWAY}=${gatewayName}`])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);
  if (ids.length === 0) return [];
  const out = Bun.spawnSync(["podman", "inspect", "--format", "{{.State.Pid}}", ...ids]).stdout.toString();
  return out.split("\n").filter(Boolean).map(Number);
}

const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((total, pid) => total + f(pid), 0);

/** Which transcriber backend the ladder climbs with: the realtime API's (through the stand-in) or the local recognizer. */
export type LadderBackend = "openai" | "local";

/** Steps of the local recognizer's ladder (pocketsphinx decodes on the transcriber's thread: a few per core). */
export const LOCAL_CAPACITY_STEPS = [2, 3, 4, 6, 8, 10, 12, 16];

export interface CapacityOptions {
  quick: boolean;
  containers: number;
  steps?: number[];
  /** Default `openai`; `local` has no stand-in and reports under `capacity_local`. */
  backend?: LadderBackend;
  /** What the openai ladder streams (default `tone`); `speech` reports under `capacity_speech`. */
  audio?: CapacityAudio;
}

/**
 * The local recognizer's gateway: autoscale over exactly `containers` prewarmed ones, so sessions spread evenly
 * (least loaded first; a pool's hash would put more on one), each container one CPU and room for every session
 * the ladder tries, so the step that fails is the one the CPU cannot keep up with, not a configured cap.
 */
function localEnv(containers: number, perContainer: number): Record<string, string> {
  return {
    ROUTING_MODE: "autoscale",
    MIN_CONTAINERS: String(containers),
    MAX_INSTANCES: String(containers),
    MAX_CONNECTIONS_PER_CONTAINER: String(perContainer),
    CONTAINER_DRIVER: "podman",
    CONTAINER_NETWORK: "host",
    TRANSCRIBER_BACKEND: "local",
    LOCAL_MAX_SESSIONS: String(perContainer),
    CONTAINER_CPUS: "1",
    CONTAINER_MEMORY: "2g",
    SLEEP_AFTER: "1h",
    SCALE_DOWN_AFTER: "1h",
  };
}

/** Runs the ladder; `steps` overrides the session counts, `containers` the pool size. */
export async function capacitySection(report: Report, options: CapacityOptions): Promise<void> {
  const { quick, containers } = options;
  const local = options.backend === "local";
  const steps = options.steps ?? (local ? (quick ? [1, 2] : LOCAL_CAPACITY_STEPS) : quick ? [40, 80] : CAPACITY_STEPS);
  const audio = options.audio ?? "tone";
  const key = local ? "capacity_local" : audio === "speech" ? "capacity_speech" : "capacity";
  const standin = local ? undefined : await startStandin();
  const perContainer = Math.ceil(Math.max(...steps) / containers);
  // The machine's admission is off for the ladder (ADMISSION_OFF): it measures what the data path carries. The
  // ramped run after a failing step has a gateway of its own at the defaults.
  const gateway = await startGateway(
    standin ? prewarmedPoolEnv(containers, standinEnv(standin)) : { ...localEnv(containers, perContainer), ...ADMISSION_OFF },
  );
  const rows: object[] = [];
  let best = 0;
  let failedAt: number | undefined;
  let overload: object | undefined;
  try {
    await gateway.waitRunning(local ? Array.from({ length: containers }, (_, i) => `auto-${i}`) : poolIds(containers));
    const parts: Parts = { gateway: [gateway.pid], transcribers: containerPids(gateway.name), standin: standin ? [standin.pid] : [] };
    if (parts.transcribers.length !== containers)
      throw new Error(`found ${parts.transcribers.length} transcriber containers, expected ${containers}`);
    const packetsBase64 = local ? await librivoxPacketsBase64() : await speechPacketsBase64(audio);
    const idleKiB = {
      gateway: sum(parts.gateway, rssKiB),
      transcribers: sum(parts.transcribers, rssKiB),
      standin: sum(parts.standin, rssKiB),
    };
    report.set(`${key}.idle_rss_kib`, { ...idleKiB, per_container: Math.round(idleKiB.transcribers / containers) });
    for (const sessions of steps) {
      report.progress(
        `${key}: ${sessions} sessions of real-time Opus speech through ${containers} transcribers (${options.backend ?? "openai"})`,
      );
      // The recognizer's utterances run for seconds: a 4 s window may hold no final at all.
      const windowMs = quick && !local ? 4_000 : Number(process.env.CAPACITY_WINDOW_MS ?? 10_000);
      const row = await step(gateway.listenUrl, sessions, parts, idleKiB, packetsBase64, windowMs);
      rows.push(row);
      report.progress(`  ${JSON.stringify(row)}`);
      if (!row.pass) {
        failedAt = sessions;
        break;
      }
      best = sessions;
      await Bun.sleep(2_000);
    }
  } finally {
    await gateway.stop();
  }
  try {
    if (failedAt !== undefined && standin && !quick) {
      await Bun.sleep(5_000);
      report.progress(`${key}: ${failedAt} sessions again, opened gradually as in production, at the defaults (early refusal)`);
      overload = await overloadSection({ containers, sessions: failedAt, standin, audio });
      report.progress(`  ${JSON.stringify(overload)}`);
    }
  } finally {
    await standin?.stop();
  }
  report.set(key, { max_sessions: best, containers, steps: rows, ...(overload ? { overload } : {}) });
}

/** The LibriVox clips one after another as Opus packets, base64 (real speech: the recognizer ends utterances in it). */
async function librivoxPacketsBase64(): Promise<string[]> {
  const missing = recognizerMissing() ?? librivoxMissing();
  if (missing) throw new Error(`the local ladder needs the recognizer and its clips: ${missing} (scripts/recognizer-setup.sh)`);
  const packets = (await Promise.all(librivoxClips().map((clip) => clipOpusPackets(clip, 300)))).flat();
  return packets.map((p) => Buffer.from(p).toString("base64"));
}

async function step(
  listenUrl: string,
  sessions: number,
  parts: Parts,
  idleKiB: Record<keyof Parts, number>,
  packetsBase64: string[],
  durationMs: number,
) {
  const urls = Array.from({ length: sessions }, (_, i) => `${listenUrl}?sessionId=cap-${sessions}-${i}&${QUERY}`);
  const load = runLoad(
    echoSpec(urls, {
      mode: "audio",
      packetsBase64,
      awaitText: true,
      openConcurrency: 20,
      warmupMs: 3_000,
      durationMs,
      drainMs: 1_500,
      pingEvery: 5,
      closeStream: true,
    }),
  );
  await load.measuring;
  const all = [...parts.gateway, ...parts.transcribers, ...parts.standin, load.pid];
  const before = new Map(all.map((pid) => [pid, cpuMs(pid)]));
  const startedAt = performance.now();
  const loadAtStart = loadAverage();
  const ticksAtStart = cpuTicks();
  // Read just before the window ends, while every session still streams.
  await Bun.sleep(durationMs - 300);
  const used = (pids: number[]) => sum(pids, (pid) => cpuMs(pid) - before.get(pid)!);
  const wallMs = performance.now() - startedAt;
  const steal = stealPct(ticksAtStart, cpuTicks());
  const cpu = {
    gateway: used(parts.gateway),
    transcribers: used(parts.transcribers),
    standin: used(parts.standin),
    load_worker: used([load.pid]),
  };
  const rss = { gateway: sum(parts.gateway, rssKiB), transcribers: sum(parts.transcribers, rssKiB), standin: sum(parts.standin, rssKiB) };
  const result: LoadResult = await load.result;
  const perSession = (ms: number) => round3((100 * ms) / wallMs / sessions);
  const perSessionKiB = (part: keyof Parts) => round3((rss[part] - idleKiB[part]) / sessions);
  const audio = result.audio;
  const closed = Object.keys(result.closedEarly).length > 0;
  const lag = audio?.finalLagMs;
  const pass =
    result.ok &&
    !closed &&
    result.errorCount === 0 &&
    audio !== undefined &&
    audio.framesLost === 0 &&
    lag !== undefined &&
    lag.n > 0 &&
    lag.p99 < FINAL_LAG_LIMIT_MS &&
    result.latencyMs.n > 0 &&
    result.latencyMs.p99 < HOP_LIMIT_MS;
  return {
    sessions,
    pass,
    hop_ms: { p50: round3(result.latencyMs.p50), p99: round3(result.latencyMs.p99) },
    final_lag_ms: lag
      ? {
          n: lag.n,
          p50: Math.round(lag.p50),
          p99: Math.round(lag.p99),
          max: Math.round(lag.max),
          growth: Math.round(audio!.finalLagGrowthMs),
        }
      : undefined,
    frames: audio ? { sent: audio.framesSent, lost: audio.framesLost, unanswered: audio.unanswered } : undefined,
    errors: result.errorCount,
    closed: result.closedEarly,
    ...(result.ok ? {} : { failure: result.error }),
    ...(result.errors[0] ? { first_error: result.errors[0] } : {}),
    cpu_pct_per_session: {
      gateway: perSession(cpu.gateway),
      transcribers: perSession(cpu.transcribers),
      standin: perSession(cpu.standin),
      load_worker: perSession(cpu.load_worker),
    },
    rss_kib_per_session: {
      gateway: perSessionKiB("gateway"),
      transcribers: perSessionKiB("transcribers"),
      standin: perSessionKiB("standin"),
    },
    load_average: loadAtStart,
    /** CPU time the hypervisor took from this VM during the window, % of the machine's: a shared host's noise. */
    steal_pct: steal,
  };
}
