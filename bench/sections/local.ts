/**
 * The local recognizer (TRANSCRIBER_BACKEND=local, pocketsphinx en-us) on the LibriVox clips:
 * - real-time factor: CPU seconds per second of audio for one decoder, in process (and the model load);
 * - per-session memory: a transcriber process's RSS with one warm decoder, then with `sessions` streaming;
 * - the most concurrent real-time sessions one container (CONTAINER_CPUS=1, through the gateway) keeps up
 *   with: each session streams the clips at real time and every interim Results is stamped with its lag,
 *   (arrival time since the first packet) - (the audio time it covers); a session count passes while the
 *   median lag stays under LAG_LIMIT_MS and no session's last third is more than GROWTH_LIMIT_MS above its
 *   first third (slow stretches on a busy machine show in p95; the count fails once lag accumulates).
 */
import { join } from "node:path";
import { freePort } from "../../runtime/free-port.ts";
import { TestClient } from "../../test/client.ts";
import { clipOpusPackets, librivoxClips, librivoxMissing } from "../../test/librivox.ts";
import { PocketsphinxDecoder, DEFAULT_MODEL_DIR } from "../../transcriber/local/pocketsphinx.ts";
import { recognizerMissing } from "../../transcriber/local/availability.ts";
import { ADMISSION_OFF, rssKiB, startGateway } from "../procs.ts";
import type { Report } from "../report.ts";
import { round3, summarize } from "../stats.ts";

const ROOT = join(import.meta.dir, "..", "..");
const LAG_LIMIT_MS = 1_000;
const GROWTH_LIMIT_MS = 250;
// Interims are opt-in (as in Deepgram): the lag is measured on them.
const QUERY = "encoding=opus&sample_rate=48000&channels=1&language=en&interim_results=true";

/** Runs the three measurements; skips (with a line) where the recognizer is not installed. */
export async function localSection(report: Report, options: { quick: boolean }): Promise<void> {
  const missing = recognizerMissing() ?? librivoxMissing();
  if (missing) return report.progress(`local recognizer skipped: ${missing}`);
  realTimeFactor(report, options.quick ? 2 : 5);
  await sessionMemory(report, options.quick ? 3 : 4);
  await maxRealTimeSessions(report, options.quick);
}

function realTimeFactor(report: Report, clipCount: number): void {
  const loadStarted = performance.now();
  const decoder = new PocketsphinxDecoder(DEFAULT_MODEL_DIR);
  const loadMs = performance.now() - loadStarted;
  let audioS = 0;
  const cpuStarted = process.cpuUsage();
  for (const clip of librivoxClips().slice(0, clipCount)) {
    decoder.startUtterance();
    for (let at = 0; at < clip.pcm16k.length; at += 1600) decoder.process(clip.pcm16k.subarray(at, at + 1600));
    decoder.endUtterance();
    audioS += clip.pcm16k.length / 16_000;
  }
  const cpu = process.cpuUsage(cpuStarted);
  decoder.free();
  report.set("local.model_load_ms", Math.round(loadMs));
  report.set("local.real_time_factor", round3((cpu.user + cpu.system) / 1e6 / audioS));
}

/** RSS of one transcriber process (the container's entry point) with one warm decoder, then `sessions` streaming. */
async function sessionMemory(report: Report, sessions: number): Promise<void> {
  const port = await freePort();
  const child = Bun.spawn([process.execPath, join(ROOT, "transcriber", "main.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      TRANSCRIBER_BACKEND: "local",
      LOCAL_MAX_SESSIONS: String(sessions),
      LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    await waitHealthy(`http://127.0.0.1:${port}/health`);
    const idleMiB = rssMiB(child.pid);
    const clip = librivoxClips()[0]!;
    const packets = await clipOpusPackets(clip, 300);
    const clients = Array.from({ length: sessions }, () => TestClient.listen(`ws://127.0.0.1:${port}`, QUERY));
    // Streamed fast; the sessions stay open (no CloseStream), so every decoder is held when RSS is read.
    await Promise.all(clients.map((client) => client.stream(packets, 0)));
    await Promise.all(clients.map((client) => client.until(() => client.ofType("Results").length > 0, 30_000, "a Results")));
    const busyMiB = rssMiB(child.pid);
    for (const client of clients) client.send({ type: "CloseStream" });
    await Promise.all(clients.map((client) => client.closed));
    report.set("local.rss_mib", { one_warm_decoder: Math.round(idleMiB), [`${sessions}_sessions`]: Math.round(busyMiB) });
    report.set("local.session_mib", Math.round((busyMiB - idleMiB) / (sessions - 1)));
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

/** Increases the concurrent real-time sessions on one podman container until the lag grows. */
async function maxRealTimeSessions(report: Report, quick: boolean): Promise<void> {
  const clips = librivoxClips().slice(0, quick ? 2 : 5);
  const packets = (await Promise.all(clips.map((clip) => clipOpusPackets(clip, 300)))).flat();
  const maxTried = quick ? 3 : 6;
  const gateway = await startGateway({
    ...ADMISSION_OFF,
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "podman",
    CONTAINER_NETWORK: "host",
    TRANSCRIBER_BACKEND: "local",
    LOCAL_MAX_SESSIONS: String(maxTried),
    CONTAINER_MEMORY: "1g",
    CONTAINER_CPUS: "1",
  });
  try {
    // A first session starts the container and warms its first decoder; its own lags would show the start.
    await streamedLags(`${gateway.listenUrl}?sessionId=rt-warmup&${QUERY}`, packets.slice(0, 50));
    let best = 0;
    const lags: Record<string, unknown> = {};
    for (let sessions = 1; sessions <= maxTried; sessions++) {
      const samples = await Promise.all(
        Array.from({ length: sessions }, (_, i) => streamedLags(`${gateway.listenUrl}?sessionId=rt-${sessions}-${i}&${QUERY}`, packets)),
      );
      const all = summarize(samples.flatMap((s) => s.all));
      const growthMs = Math.max(...samples.map((s) => s.lastThirdP50 - s.firstThirdP50));
      const keptUp = all.p50 <= LAG_LIMIT_MS && growthMs <= GROWTH_LIMIT_MS;
      lags[sessions] = { p50: Math.round(all.p50), p95: Math.round(all.p95), growth: Math.round(growthMs), kept_up: keptUp };
      report.progress(
        `  ${sessions} real-time sessions: lag p50 ${Math.round(all.p50)} ms, p95 ${Math.round(all.p95)} ms, growth ${Math.round(growthMs)} ms`,
      );
      if (!keptUp) break;
      best = sessions;
    }
    report.set("local.lag_ms_by_sessions", lags);
    report.set("local.max_realtime_sessions_per_container", { sessions: best, container_cpus: 1, audio_s: round3(packets.length / 50) });
  } finally {
    await gateway.stop();
  }
}

/** Streams `packets` at real time on a new session; the lag of each interim Results (see the file comment). */
async function streamedLags(url: string, packets: Uint8Array[]): Promise<{ all: number[]; firstThirdP50: number; lastThirdP50: number }> {
  const client = TestClient.connect(url);
  await client.opened;
  const startedMs = performance.now();
  const lags: number[] = [];
  client.ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const message = JSON.parse(event.data);
    if (message.type === "Results" && !message.is_final)
      lags.push(performance.now() - startedMs - (message.start + message.duration) * 1000);
  });
  await client.stream(packets, 20);
  client.send({ type: "CloseStream" });
  await client.closed;
  const third = Math.max(1, Math.floor(lags.length / 3));
  return { all: lags, firstThirdP50: summarize(lags.slice(0, third)).p50, lastThirdP50: summarize(lags.slice(-third)).p50 };
}

const rssMiB = (pid: number) => rssKiB(pid) / 1024;

async function waitHealthy(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(50);
  }
  throw new Error(`transcriber did not answer ${url} within ${timeoutMs} ms`);
}
