/**
 * Transcriber designs side by side: `bun bench/sections/capacity-compare.ts --designs=base:<git-ref>,work
 * [--sessions=100] [--seconds=10] [--rounds=3] [--prof]`. Each design is the transcriber/ tree of a git ref (or
 * `work`: this working tree) run as its own `bun transcriber/main.ts` process against one shared stand-in, all
 * at once, each with its own load worker sending real-time Opus straight to it: a machine loaded by other
 * work loads them alike in the same window; what is compared is CPU per real-time session-second (from /proc/PID/stat) and
 * the ratio to the first design.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpusPackets, speechLikePcm48k, WEBRTC_SPEECH } from "../../test/audio.ts";
import { clipPcm48k, librivoxClips, librivoxMissing } from "../../test/librivox.ts";
import { forEachLine } from "../lines.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import { cpuMs, loadAverage, standinEnv, startStandin, type StandinProcess } from "../procs.ts";
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

/** `--NAME=value` from the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** `--designs=name:ref,...` (default `base:HEAD,work`: the last commit against the working tree), checked out. */
export function designsFromArgs(): Design[] {
  return arg("designs", "base:HEAD,work")
    .split(",")
    .map((entry) => {
      const [name, ref] = entry.includes(":") ? entry.split(":") : [entry, entry];
      return checkoutDesign(name!, ref!);
    });
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
      ...standinEnv(standin),
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

/**
 * What a capacity run streams. `tone`: turns of a speech-like tone (1.2 s) and silence (0.8 s), encoded with
 * libopus's defaults (CELT). `speech`: the LibriVox read-speech clips, each followed by 0.8 s of silence,
 * encoded as a WebRTC client sends speech (VOIP application, 32 kbps: SILK), which costs more to decode.
 */
export type CapacityAudio = "tone" | "speech";

/** The packets of `audio`, base64, looped by the load worker; the silences let the stand-in end turns. */
export async function speechPacketsBase64(audio: CapacityAudio = "tone"): Promise<string[]> {
  const toBase64 = (packets: Uint8Array[]) => packets.map((p) => Buffer.from(p).toString("base64"));
  if (audio === "tone")
    return toBase64(await encodeOpusPackets(speechLikePcm48k({ pitchHz: 200, turns: [{ speechMs: 1_200, silenceMs: 800 }] })));
  const missing = librivoxMissing();
  if (missing) throw new Error(`--audio=speech needs the LibriVox clips: ${missing}`);
  return (await Promise.all(librivoxClips().map((clip) => encodeOpusPackets(clipPcm48k(clip, 800), WEBRTC_SPEECH)))).flatMap(toBase64);
}

/** `--audio=tone|speech` (default tone). */
export function audioFromArgs(): CapacityAudio {
  const audio = arg("audio", "tone");
  if (audio !== "tone" && audio !== "speech") throw new Error(`--audio must be tone or speech, got "${audio}"`);
  return audio;
}

/**
 * One measured window with every design's process under the same load at the same time (one load worker each):
 * each design's CPU per real-time session-second, in percent of a core.
 */
async function measureTogether(procs: TranscriberProcess[], sessions: number, seconds: number, packetsBase64: string[], tag: string) {
  const loads = procs.map((proc, p) =>
    runLoad(
      echoSpec(
        Array.from(
          { length: sessions },
          (_, i) => `ws://127.0.0.1:${proc.port}/v1/listen?sessionId=${tag}-${p}-${i}&encoding=opus&sample_rate=48000`,
        ),
        { mode: "audio", packetsBase64, openConcurrency: 20, warmupMs: 3_000, durationMs: seconds * 1000, drainMs: 1_000 },
      ),
    ),
  );
  await Promise.all(loads.map((load) => load.measuring));
  const before = procs.map((proc) => cpuMs(proc.pid));
  const startedAt = performance.now();
  await Bun.sleep(seconds * 1000 - 500);
  const used = procs.map((proc, p) => cpuMs(proc.pid) - before[p]!);
  const wallMs = performance.now() - startedAt;
  const results = await Promise.all(loads.map((load) => load.result));
  return results.map((result, p) => ({
    cpuPctPerSession: (100 * used[p]!) / wallMs / sessions,
    ok: result.ok && Object.keys(result.closedEarly).length === 0 && result.errorCount === 0,
    texts: result.texts,
    errors: result.errorCount,
  }));
}

if (import.meta.main) {
  const designs = designsFromArgs();
  const sessions = Number(arg("sessions", "100"));
  const seconds = Number(arg("seconds", "10"));
  const rounds = Number(arg("rounds", "3"));
  const prof = process.argv.includes("--prof");
  const packetsBase64 = await speechPacketsBase64(audioFromArgs());
  const standinProfDir = join(tmpdir(), `cap-prof-standin-${process.pid}`);
  if (prof) mkdirSync(standinProfDir, { recursive: true });
  const standin = await startStandin(prof ? ["--cpu-prof", `--cpu-prof-dir=${standinProfDir}`] : []);
  const results = new Map<string, number[]>(designs.map((d) => [d.name, []]));
  const profDirs = new Map<string, string>();
  try {
    for (let round = 0; round < rounds; round++) {
      const wantProf = prof && round === rounds - 1;
      const procs: TranscriberProcess[] = [];
      try {
        for (const design of designs) {
          const profDir = join(tmpdir(), `cap-prof-${design.name}-${process.pid}`);
          if (wantProf) {
            mkdirSync(profDir, { recursive: true });
            profDirs.set(design.name, profDir);
          }
          procs.push(await startTranscriberProcess(design.root, standin, wantProf ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []));
        }
        const measured = await measureTogether(procs, sessions, seconds, packetsBase64, `r${round}`);
        const load = loadAverage().join(" ");
        measured.forEach((m, d) => {
          results.get(designs[d]!.name)!.push(m.cpuPctPerSession);
          console.log(
            `round ${round} ${designs[d]!.name}: ${m.cpuPctPerSession.toFixed(4)} % of a core per session (ok ${m.ok}, texts ${m.texts}, errors ${m.errors}; load ${load})`,
          );
        });
      } finally {
        await Promise.all(procs.map((proc) => proc.stop()));
      }
    }
  } finally {
    await standin.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get(designs[0]!.name)!);
  for (const [name, xs] of results) {
    console.log(
      `${name}: median ${median(xs).toFixed(4)} % per session (${(median(xs) / base).toFixed(3)}x ${designs[0]!.name}); all ${xs.map((x) => x.toFixed(4)).join(" ")}`,
    );
  }
  if (prof) profDirs.set("stand-in (the rig)", standinProfDir);
  for (const [name, dir] of profDirs) {
    const top = topSelfTime(dir, 20);
    console.log(`\nprofile ${name} (${top.sampledMs.toFixed(0)} ms sampled, ${top.file}):`);
    for (const line of top.lines) console.log(`${line.share.toFixed(1).padStart(5)}%  ${line.where}`);
  }
  process.exit(0);
}
