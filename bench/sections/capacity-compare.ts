/**
 * Transcriber designs side by side: `bun bench/sections/capacity-compare.ts --designs=base:<git-ref>,work
 * [--sessions=100] [--seconds=10] [--rounds=3] [--prof]`. Each design is the transcriber/ tree of a git ref (or
 * `work`: this working tree) run as its own `bun transcriber/main.ts` process against one shared stand-in; the
 * load worker sends real-time Opus straight to it. Designs alternate round by round, so a machine loaded by
 * other work loads them alike; what is compared is CPU per real-time session-second (from /proc/PID/stat) and
 * the ratio to the first design.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpusPackets, speechLikePcm48k } from "../../test/audio.ts";
import { forEachLine } from "../lines.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import { cpuMs, startStandin, type StandinProcess } from "../procs.ts";
import { topSelfTime } from "./capacity-profile.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** A design: its name and the directory holding its transcriber/ (with node_modules reachable). */
interface Design {
  name: string;
  root: string;
}

/** Extracts `ref`'s transcriber/ into a scratch directory that resolves packages from this checkout. */
export function checkoutDesign(name: string, ref: string): Design {
  if (ref === "work") return { name, root: ROOT };
  const dir = mkdtempSync(join(tmpdir(), `cap-design-${name}-`));
  const archive = Bun.spawnSync(["git", "-C", ROOT, "archive", ref, "transcriber"]);
  if (archive.exitCode !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr.toString().trim()}`);
  Bun.spawnSync(["tar", "-x", "-C", dir], { stdin: archive.stdout });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return { name, root: dir };
}

/** A transcriber process of one design. */
export interface TranscriberProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts `bun <root>/transcriber/main.ts` on a free loopback port against the stand-in. */
export async function startTranscriberProcess(root: string, standin: StandinProcess, bunArgs: string[] = []): Promise<TranscriberProcess> {
  const child = Bun.spawn([process.execPath, ...bunArgs, join(root, "transcriber", "main.ts")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      TRANSCRIBER_BACKEND: "openai",
      OPENAI_API_KEY: "standin-key",
      OPENAI_BASE_URL: standin.baseUrl,
      OPENAI_CA_FILE: standin.caFile,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const port = await new Promise<number>((resolve, reject) => {
    let found = false;
    void forEachLine(child.stdout, (line) => {
      if (!found && line.includes('"Transcriber listening"')) {
        found = true;
        resolve(JSON.parse(line).port);
      }
    }).then(() => !found && reject(new Error(`transcriber in ${root} exited before listening`)));
  });
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** The packets every capacity run sends: turns of speech and silence, so the stand-in commits and transcribes. */
export async function speechPacketsBase64(): Promise<string[]> {
  const pcm = speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 1_200, silenceMs: 800 }] });
  return (await encodeOpusPackets(pcm)).map((p) => Buffer.from(p).toString("base64"));
}

/** One measured window: the transcriber's CPU per real-time session-second, in percent of a core. */
async function measure(port: number, pid: number, sessions: number, seconds: number, packetsBase64: string[], tag: string) {
  const urls = Array.from({ length: sessions }, (_, i) => `ws://127.0.0.1:${port}/v1/listen?sessionId=${tag}-${i}&encoding=opus&sample_rate=48000`);
  const load = runLoad(
    echoSpec(urls, { mode: "audio", packetsBase64, openConcurrency: 20, warmupMs: 2_000, durationMs: seconds * 1000, drainMs: 1_000 }),
  );
  await load.measuring;
  const before = cpuMs(pid);
  const startedAt = performance.now();
  await Bun.sleep(seconds * 1000);
  const usedMs = cpuMs(pid) - before;
  const wallMs = performance.now() - startedAt;
  const result = await load.result;
  const closed = Object.keys(result.closedEarly).length;
  return {
    cpuPctPerSession: (100 * usedMs) / wallMs / sessions,
    ok: result.ok && closed === 0 && result.errorCount === 0,
    texts: result.texts,
    errors: result.errorCount,
  };
}

if (import.meta.main) {
  const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const designs = arg("designs", "base:HEAD,work")
    .split(",")
    .map((entry) => {
      const [name, ref] = entry.includes(":") ? entry.split(":") : [entry, entry];
      return checkoutDesign(name!, ref!);
    });
  const sessions = Number(arg("sessions", "100"));
  const seconds = Number(arg("seconds", "10"));
  const rounds = Number(arg("rounds", "3"));
  const prof = process.argv.includes("--prof");
  const packetsBase64 = await speechPacketsBase64();
  const standin = await startStandin();
  const results = new Map<string, number[]>(designs.map((d) => [d.name, []]));
  const profDirs = new Map<string, string>();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? designs : [...designs].reverse();
      for (const design of order) {
        const profDir = join(tmpdir(), `cap-prof-${design.name}-${process.pid}-${round}`);
        const wantProf = prof && round === rounds - 1;
        if (wantProf) mkdirSync(profDir, { recursive: true });
        const proc = await startTranscriberProcess(design.root, standin, wantProf ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []);
        try {
          const m = await measure(proc.port, proc.pid, sessions, seconds, packetsBase64, `${design.name}-${round}`);
          results.get(design.name)!.push(m.cpuPctPerSession);
          const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
          console.log(
            `round ${round} ${design.name}: ${m.cpuPctPerSession.toFixed(4)} % of a core per session (ok ${m.ok}, texts ${m.texts}, errors ${m.errors}; load ${load})`,
          );
        } finally {
          await proc.stop();
        }
        if (wantProf) profDirs.set(design.name, profDir);
      }
    }
  } finally {
    await standin.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get(designs[0]!.name)!);
  for (const [name, xs] of results) {
    console.log(`${name}: median ${median(xs).toFixed(4)} % per session (${(median(xs) / base).toFixed(3)}x ${designs[0]!.name}); all ${xs.map((x) => x.toFixed(4)).join(" ")}`);
  }
  for (const [name, dir] of profDirs) {
    const top = topSelfTime(dir, 20);
    console.log(`\nprofile ${name} (${top.sampledMs.toFixed(0)} ms sampled, ${top.file}):`);
    for (const line of top.lines) console.log(`${line.share.toFixed(1).padStart(5)}%  ${line.where}`);
  }
  process.exit(0);
}
