/**
 * The data path: the same echo containers reached straight, through the gateway and through HAProxy, and the
 * production default (a second gateway on bridge networking, TCP to published ports) beside its own HAProxy over
 * those same ports, in interleaved rounds (relay-rounds.ts); then the largest session count each proxy carries
 * with p99 under 20 ms; warm connects; and the gateway's memory per idle and per streaming session.
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
import { interleavedRounds, p99Ratio, type RelayTarget } from "./relay-rounds.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

export interface RelayOptions {
  quick: boolean;
  /** Echo containers behind each gateway. */
  containers: number;
  /** Parts to leave out while iterating on a design: `warm`, `idle`, `capacity`, `bridge`. */
  skip?: string[];
  /**
   * Diagnostic targets added to the rounds: `burst` (the gateway and HAProxy again with every session sending
   * in the same millisecond), `haproxy_1t` (HAProxy with one thread), `haproxy_nodelay` (`option http-no-delay`).
   */
  variants?: string[];
}

type Endpoint = { host: string; port: number };

/** Runs every relay measurement against the gateways and HAProxies over the same containers. */
export async function relaySection(report: Report, options: RelayOptions): Promise<void> {
  const { quick, containers } = options;
  const skip = new Set(options.skip ?? []);
  const variants = new Set(options.variants ?? []);
  const haproxyBin = await ensureHaproxy((line) => report.progress(line));
  report.version("haproxy", haproxyVersion(haproxyBin));
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const gateway = await startGateway(prewarmedPoolEnv(containers, { TRANSCRIBER_BACKEND: "echo" }));
    started.push(gateway);
    const endpoints = await gateway.waitRunning(poolIds(containers));
    const haproxy = await startHaproxy(haproxyBin, endpoints);
    started.push(haproxy);
    const targets: RelayTarget[] = [
      { name: "direct", urls: (n, tag) => directUrls(endpoints, n, tag) },
      { name: "gateway", urls: (n, tag) => listenUrls(gateway.listenUrl, n, tag), pid: gateway.pid, rssKiB: () => gateway.rssKiB() },
      { name: "haproxy", urls: (n, tag) => listenUrls(haproxyUrl(haproxy), n, tag), pid: haproxy.pid },
    ];
    // The same containers through the Unix sockets the gateway's relay uses: HAProxy on equal transport.
    const sockets = containerSockets(gateway.name, containers);
    if (sockets) {
      const uds = await startHaproxy(
        haproxyBin,
        sockets.map((path) => ({ path })),
      );
      started.push(uds);
      targets.push({ name: "haproxy_uds", urls: (n, tag) => listenUrls(haproxyUrl(uds), n, tag), pid: uds.pid });
    }
    if (!skip.has("bridge")) {
      // The production default (`npm start`): bridge networking, TCP to the ports published on 127.0.0.1.
      const bridge = await startGateway(prewarmedPoolEnv(containers, { TRANSCRIBER_BACKEND: "echo", CONTAINER_NETWORK: "bridge" }));
      started.push(bridge);
      const published = await bridge.waitRunning(poolIds(containers));
      const haproxyBridge = await startHaproxy(haproxyBin, published);
      started.push(haproxyBridge);
      targets.push(
        { name: "direct_bridge", urls: (n, tag) => directUrls(published, n, tag) },
        { name: "gateway_bridge", urls: (n, tag) => listenUrls(bridge.listenUrl, n, tag), pid: bridge.pid },
        { name: "haproxy_bridge", urls: (n, tag) => listenUrls(haproxyUrl(haproxyBridge), n, tag), pid: haproxyBridge.pid },
      );
    }
    if (variants.has("haproxy_1t")) {
      const oneThread = await startHaproxy(haproxyBin, endpoints, { threads: 1 });
      started.push(oneThread);
      targets.push({ name: "haproxy_1t", urls: (n, tag) => listenUrls(haproxyUrl(oneThread), n, tag), pid: oneThread.pid });
    }
    if (variants.has("haproxy_nodelay")) {
      const noDelay = await startHaproxy(haproxyBin, endpoints, { noDelay: true });
      started.push(noDelay);
      targets.push({ name: "haproxy_nodelay", urls: (n, tag) => listenUrls(haproxyUrl(noDelay), n, tag), pid: noDelay.pid });
    }
    if (variants.has("burst"))
      for (const name of ["gateway", "haproxy"])
        targets.push({ ...targets.find((t) => t.name === name)!, name: `${name}_burst`, pacing: "burst" });

    // Both pools run by now: the engine holds a wait per container of either.
    await engineIdleCpu(report, skip.has("bridge") ? containers : 2 * containers, quick ? 2_000 : 5_000);
    const first = endpoints[0]!;
    if (!skip.has("warm")) await warmConnects(report, gateway, `ws://${first.host}:${first.port}/v1/listen`, quick ? 100 : 300);

    const baseRssKiB = gateway.rssKiB();
    const sessions = 200;
    const rounds = {
      sessions,
      rounds: quick ? 3 : 5,
      windowMs: quick ? 2_000 : 5_000,
      warmupMs: 1_000,
      drainMs: quick ? 500 : 1_000,
      pacing: "spread" as const,
    };
    report.progress(
      `relay: ${targets.map((t) => t.name).join(", ")}; ${sessions} sessions x 50 msg/s, ${rounds.rounds} interleaved rounds of ${rounds.windowMs / 1000} s each`,
    );
    const figures = await interleavedRounds(targets, rounds, (line) => report.progress(line));
    for (const [name, f] of figures) {
      const { rss_kib, ...rest } = f;
      report.set(`relay.${name}`, rest);
    }
    const gatewayRss = figures.get("gateway")?.rss_kib;
    if (gatewayRss !== undefined) report.set("rss_per_session_kib.streaming", round3((gatewayRss - baseRssKiB) / sessions));
    const pairs: Array<[string, string]> = [
      ["gateway", "haproxy"],
      ["gateway", "haproxy_uds"],
      ["gateway", "direct"],
      ["haproxy", "direct"],
      ["gateway_bridge", "haproxy_bridge"],
      ["gateway_bridge", "direct_bridge"],
      ["haproxy_bridge", "direct_bridge"],
      ["gateway_burst", "haproxy_burst"],
      ["haproxy_1t", "haproxy"],
      ["haproxy_nodelay", "haproxy"],
      ["gateway", "haproxy_nodelay"],
    ];
    for (const [a, b] of pairs) {
      const fa = figures.get(a);
      const fb = figures.get(b);
      if (fa && fb) report.set(`relay.ratios.${a}_vs_${b}`, p99Ratio(fa, fb));
    }

    if (!skip.has("idle")) await idleRss(report, gateway, 1_000);

    const steps = quick ? [100, 200] : [100, 200, 300, 400, 600, 800, 1000, 1300, 1600];
    const capacityTargets = skip.has("capacity") ? [] : targets.filter((t) => t.name === "gateway" || t.name === "haproxy");
    for (const target of capacityTargets) {
      let best = 0;
      for (const step of steps) {
        report.progress(`relay capacity: ${target.name}, ${step} sessions`);
        const run = runLoad(
          echoSpec(target.urls(step, `cap-${target.name}-${step}`), {
            durationMs: quick ? 2_000 : 8_000,
            warmupMs: quick ? 1_000 : 2_000,
            drainMs: 1_000,
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
      report.set(`relay.max_sessions_p99_under_20ms.${target.name}`, best);
    }
  } finally {
    for (const part of started.reverse()) await part.stop();
  }
}

function listenUrls(base: string, sessions: number, tag: string): string[] {
  return Array.from({ length: sessions }, (_, i) => `${base}?sessionId=${tag}-${i}&${QUERY}`);
}

/** Session i straight to container i mod N: the spread the pool's hash gives, without a proxy. */
function directUrls(endpoints: readonly Endpoint[], sessions: number, tag: string): string[] {
  return Array.from({ length: sessions }, (_, i) => {
    const e = endpoints[i % endpoints.length]!;
    return `ws://${e.host}:${e.port}/v1/listen?sessionId=${tag}-${i}&${QUERY}`;
  });
}

function haproxyUrl(haproxy: RunningHaproxy): string {
  return `ws://127.0.0.1:${haproxy.port}/v1/listen`;
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
async function idleRss(report: Report, gateway: GatewayProcess, sessions: number): Promise<void> {
  report.progress(`memory: ${sessions} idle sessions`);
  await Bun.sleep(1_000);
  const before = gateway.rssKiB();
  const run = runLoad(
    echoSpec(listenUrls(gateway.listenUrl, sessions, "idle"), { mode: "idle", awaitText: true, holdMs: 2_500, openTimeoutMs: 60_000 }),
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
