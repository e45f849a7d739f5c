/**
 * The data path: the same echo containers reached straight, through the gateway and through HAProxy, at the
 * same load, in one run; then the largest session count each proxy carries with p99 under 20 ms; warm
 * connects; and the gateway's memory per idle and per streaming session.
 */
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureHaproxy, haproxyVersion, startHaproxy, type RunningHaproxy } from "../haproxy.ts";
import { runLoad } from "../load/drive.ts";
import { echoSpec, type LoadResult } from "../load/spec.ts";
import { cpuMs, podmanServicePid, poolIds, prewarmedPoolEnv, startGateway, type GatewayProcess } from "../procs.ts";
import type { Report } from "../report.ts";
import { round3, summarize } from "../stats.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

export interface RelayOptions {
  quick: boolean;
  /** Echo containers behind both proxies. */
  containers: number;
  /** Parts to leave out while iterating on a design: `warm`, `idle`, `capacity`. */
  skip?: string[];
}

type Target = "direct" | "gateway" | "haproxy" | "haproxy_uds";

/** Runs every relay measurement against one gateway and one HAProxy over the same containers. */
export async function relaySection(report: Report, options: RelayOptions): Promise<void> {
  const { quick, containers } = options;
  const haproxyBin = await ensureHaproxy((line) => report.progress(line));
  report.version("haproxy", haproxyVersion(haproxyBin));
  const gateway = await startGateway(prewarmedPoolEnv(containers, { TRANSCRIBER_BACKEND: "echo" }));
  let haproxy: RunningHaproxy | undefined;
  let haproxyUds: RunningHaproxy | undefined;
  try {
    const endpoints = await gateway.waitRunning(poolIds(containers));
    haproxy = await startHaproxy(haproxyBin, endpoints);
    // The same containers through the Unix sockets the gateway's relay uses: HAProxy on equal transport.
    const sockets = containerSockets(gateway.name, containers);
    if (sockets)
      haproxyUds = await startHaproxy(
        haproxyBin,
        sockets.map((path) => ({ path })),
      );
    const urlsFor = (target: Target, sessions: number, tag: string): string[] =>
      Array.from({ length: sessions }, (_, i) => {
        const query = `sessionId=${tag}-${i}&${QUERY}`;
        if (target === "gateway") return `${gateway.listenUrl}?${query}`;
        if (target === "haproxy") return `ws://127.0.0.1:${haproxy!.port}/v1/listen?${query}`;
        if (target === "haproxy_uds") return `ws://127.0.0.1:${haproxyUds!.port}/v1/listen?${query}`;
        const e = endpoints[i % endpoints.length]!;
        return `ws://${e.host}:${e.port}/v1/listen?${query}`;
      });

    const skip = new Set(options.skip ?? []);
    await engineIdleCpu(report, containers, quick ? 2_000 : 5_000);
    const first = endpoints[0]!;
    if (!skip.has("warm")) await warmConnects(report, gateway, `ws://${first.host}:${first.port}/v1/listen`, quick ? 100 : 300);

    const baseRssKiB = gateway.rssKiB();
    const sessions = 200;
    const durationMs = quick ? 4_000 : 30_000;
    // Long enough that the open storm's garbage and the relay's JIT warm-up fall outside the window.
    const warmupMs = 2_000;
    const drainMs = quick ? 500 : 1_000;
    for (const target of ["direct", "gateway", "haproxy", ...(haproxyUds ? (["haproxy_uds"] as const) : [])] as const) {
      report.progress(`relay: ${target}, ${sessions} sessions x 50 msg/s for ${durationMs / 1000} s`);
      const run = runLoad(
        echoSpec(urlsFor(target, sessions, `relay-${target}`), { durationMs, warmupMs, drainMs, awaitText: target === "gateway" }),
      );
      // CPU time of the proxy over the measured window: per frame, it does not depend on what else the
      // machine runs, where latency does.
      const pid =
        target === "gateway" ? gateway.pid : target === "haproxy" ? haproxy.pid : target === "haproxy_uds" ? haproxyUds?.pid : undefined;
      await run.measuring;
      const cpuAtStart = pid === undefined ? 0 : cpuMs(pid);
      await Bun.sleep(durationMs / 2);
      const streamingRss = target === "gateway" ? gateway.rssKiB() : undefined;
      await Bun.sleep(durationMs / 2);
      const cpuUsedMs = pid === undefined ? undefined : cpuMs(pid) - cpuAtStart;
      const result = checked(await run.result, target);
      report.set(`relay.${target}`, relayFigures(result, cpuUsedMs));
      if (streamingRss !== undefined) report.set("rss_per_session_kib.streaming", round3((streamingRss - baseRssKiB) / sessions));
    }

    if (!skip.has("idle")) await idleRss(report, gateway, 1_000, urlsFor);

    const steps = quick ? [100, 200] : [100, 200, 300, 400, 600, 800, 1000, 1300, 1600];
    for (const target of skip.has("capacity") ? [] : (["gateway", "haproxy"] as const)) {
      let best = 0;
      for (const step of steps) {
        report.progress(`relay capacity: ${target}, ${step} sessions`);
        const run = runLoad(
          echoSpec(urlsFor(target, step, `cap-${target}-${step}`), {
            durationMs: quick ? 2_000 : 8_000,
            warmupMs: quick ? 1_000 : 2_000,
            drainMs,
            awaitText: target === "gateway",
            openTimeoutMs: 60_000,
          }),
        );
        const result = await run.result;
        const lost = result.ok ? result.sent - result.received : step;
        const p99 = result.ok ? result.latencyMs.p99 : Number.POSITIVE_INFINITY;
        report.progress(`  ${step} sessions: p99 ${p99} ms, lost ${lost}${result.ok ? "" : ` (${result.error})`}`);
        if (!result.ok || lost > 0 || p99 >= 20 || Object.keys(result.closedEarly).length > 0) break;
        best = step;
      }
      report.set(`relay.max_sessions_p99_under_20ms.${target}`, best);
    }
  } finally {
    await haproxy?.stop();
    await haproxyUds?.stop();
    await gateway.stop();
  }
}

/** Latency, throughput, loss and (for a proxy) CPU microseconds per frame relayed (one way; a round trip is two). */
function relayFigures(result: LoadResult, cpuUsedMs: number | undefined) {
  const frames = 2 * result.windowReceived;
  return {
    p50: result.latencyMs.p50,
    p99: result.latencyMs.p99,
    msgs_per_s: Math.round(result.msgsPerS),
    lost: result.sent - result.received,
    ...(cpuUsedMs === undefined ? {} : { cpu_us_per_frame: round3((cpuUsedMs * 1000) / frames) }),
  };
}

function checked(result: LoadResult, what: string): LoadResult {
  if (!result.ok) throw new Error(`${what}: ${result.error}`);
  return result;
}

/**
 * Connect -> Metadata on a running instance, one after another; beside it the baseline of the same loop
 * straight to a transcriber (connect -> open: it sends nothing first), interleaved so both see the same machine.
 */
async function warmConnects(report: Report, gateway: GatewayProcess, direct: string, count: number): Promise<void> {
  report.progress(`warm connects: ${count} sessions one after another (and ${count} straight to a transcriber)`);
  const samples: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < count; i++) {
    samples.push(await connectOnce(`${gateway.listenUrl}?sessionId=warm-${i}&${QUERY}`, "message"));
    await Bun.sleep(5); // one client connecting now and then, not a storm
    baseline.push(await connectOnce(`${direct}?sessionId=warm-direct-${i}&${QUERY}`, "open"));
    await Bun.sleep(5);
  }
  const skip = Math.min(10, count / 10);
  const s = summarize(samples.slice(skip));
  const b = summarize(baseline.slice(skip));
  report.set("warm_connect_ms", { p50: s.p50, p99: s.p99, direct: { p50: b.p50, p99: b.p99 } });
}

/** Milliseconds from `new WebSocket` to its first `until` event, then closes it. */
export async function connectOnce(url: string, until: "open" | "message"): Promise<number> {
  const started = performance.now();
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws[`on${until}`] = () => resolve();
    ws.onclose = (e) => reject(new Error(`warm connect to ${url.split("?")[0]} closed ${e.code}`));
  });
  const ms = performance.now() - started;
  ws.onclose = null;
  ws.close();
  return ms;
}

/**
 * The engine API service's CPU while the pool's containers run idle: the driver holds a wait per container,
 * and an engine that busy-polls those (Podman 4.3-4.5's compat wait did) takes a core from everything else.
 */
async function engineIdleCpu(report: Report, containers: number, windowMs: number): Promise<void> {
  const pid = podmanServicePid();
  if (pid === undefined) return report.progress("engine API CPU: no local `podman system service` process; skipped");
  const before = cpuMs(pid);
  await Bun.sleep(windowMs);
  const percent = round3((100 * (cpuMs(pid) - before)) / windowMs);
  report.set("engine_api_cpu_percent_idle", { percent, containers });
}

/** Gateway RSS growth per idle open session. */
async function idleRss(
  report: Report,
  gateway: GatewayProcess,
  sessions: number,
  urlsFor: (target: Target, sessions: number, tag: string) => string[],
): Promise<void> {
  report.progress(`memory: ${sessions} idle sessions`);
  await Bun.sleep(1_000);
  const before = gateway.rssKiB();
  const run = runLoad(
    echoSpec(urlsFor("gateway", sessions, "idle"), { mode: "idle", awaitText: true, holdMs: 2_500, openTimeoutMs: 60_000 }),
  );
  await run.ready;
  await Bun.sleep(2_000);
  const after = gateway.rssKiB();
  checked(await run.result, "idle sessions");
  report.set("rss_per_session_kib.idle", round3((after - before) / sessions));
}

/** The pool members' Unix sockets (podman driver, host network: see runtime/podman-driver.ts), in member order. */
function containerSockets(gatewayName: string, containers: number): string[] | undefined {
  const parent = join(tmpdir(), `transcribe-edge-${process.getuid?.() ?? "user"}`);
  if (!existsSync(parent)) return undefined;
  const dirs = readdirSync(parent);
  const paths = Array.from({ length: containers }, (_, i) => {
    const dir = dirs.find((d) => d.startsWith(`te-${gatewayName}-pool-${i}-`));
    return dir ? join(parent, dir, "listen.sock") : undefined;
  });
  return paths.every((p) => p && existsSync(p)) ? (paths as string[]) : undefined;
}
