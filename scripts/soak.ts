/**
 * Soak: four gateway processes (pool, session, shared, autoscale) on the real engine (the process driver
 * without one), sessions arriving and leaving, quiet spells so instances sleep and wake, and a fault each
 * period. It samples each gateway's RSS, its open sessions against the sessions this script holds, and its
 * running instances against the engine's containers; it exits 1 on a drift that persists, a leak, or a lost frame.
 *
 *   bun scripts/soak.ts [--minutes 10] [--fault-every 60]      (npm run soak)
 *
 * With --cluster (or SOAK_CLUSTER=1) it soaks a cluster instead: three gateways, Redis and HAProxy, a gateway
 * SIGKILLed and restarted every --kill-every seconds and one Redis restart (scripts/soak/cluster.ts).
 *
 *   bun scripts/soak.ts --cluster [--minutes 10] [--kill-every 120]      (npm run soak -- --cluster)
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { type GatewayProcess, spawnGateway } from "../app/faults/gateway-process.ts";
import { findEngine } from "../runtime/engine.ts";
import { ensureImage } from "../runtime/image-build.ts";
import { containersOf, podman } from "../test/podman.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "fault-every": { type: "string", default: "60" },
    cluster: { type: "boolean", default: false },
    "kill-every": { type: "string", default: "120" },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const faultEveryMs = Number(values["fault-every"]) * 1000;
for (const [name, value] of [
  ["--minutes", values.minutes],
  ["--fault-every", values["fault-every"]],
  ["--kill-every", values["kill-every"]],
] as const) {
  if (!(Number(value) > 0)) {
    console.error(`soak: ${name} must be a positive number (got '${value}')`);
    process.exit(2);
  }
}
/** Samples a mismatch must persist for before it counts as drift (handshakes and closes are in flight briefly). */
const DRIFT_SAMPLES = 4;
const SAMPLE_MS = 1000;

const engine = await findEngine(process.env, 1000);
if (values.cluster || process.env.SOAK_CLUSTER === "1") {
  if (!engine) {
    console.error("soak --cluster: no container engine answered (set DOCKER_HOST); the cluster soak runs on the real engine");
    process.exit(2);
  }
  process.env.DOCKER_HOST ??= engine.dockerHost;
  await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
  const { runClusterSoak } = await import("./soak/cluster.ts");
  process.exit(await runClusterSoak({ minutes: Number(values.minutes), killEveryS: Number(values["kill-every"]) }));
}
// The gateways get the engine through their own environment (driverEnv); the image check uses the engine CLI.
if (engine) {
  await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
}
const driverEnv: Record<string, string> = engine
  ? { CONTAINER_DRIVER: "podman", DOCKER_HOST: engine.dockerHost }
  : { CONTAINER_DRIVER: "process" };
const base = {
  ...driverEnv,
  CONTAINER_NETWORK: "host",
  TRANSCRIBER_BACKEND: "echo",
  SLEEP_AFTER: "4s",
  LOG_LEVEL: "info",
  DRAIN_TIMEOUT: "5s",
};
const modes: Record<string, Record<string, string>> = {
  pool: { ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2" },
  session: { ROUTING_MODE: "session", MAX_INSTANCES: "4" },
  shared: { ROUTING_MODE: "shared" },
  autoscale: {
    ROUTING_MODE: "autoscale",
    MIN_CONTAINERS: "1",
    MAX_CONNECTIONS_PER_CONTAINER: "2",
    MAX_INSTANCES: "3",
    SCALE_DOWN_AFTER: "4s",
  },
};

interface Lane {
  mode: string;
  gw: GatewayProcess;
  /** Sessions whose Metadata arrived and that have not closed. */
  open: number;
  /**
   * The bounds the gateway's open-session count must lie within at any instant: at least every session that
   * has its Metadata and has not begun to close (`steady`), at most every socket whose close has not been seen
   * (`live`, fault sockets included). Between the two are sessions still connecting or closing.
   */
  steady: number;
  live: number;
  quietUntil: number;
  rssMiB: number[];
  drift: Record<string, number>;
}

const problems: string[] = [];
const tally = { sessions: 0, framesSent: 0, framesLost: 0, faults: [] as string[], refused: 0, closeCodes: {} as Record<string, number> };
const lanes: Lane[] = [];
for (const [mode, env] of Object.entries(modes)) {
  const gw = await spawnGateway({ ...base, ...env, GATEWAY_NAME: `soak-${mode}-${process.pid}` });
  lanes.push({ mode, gw, open: 0, steady: 0, live: 0, quietUntil: 0, rssMiB: [], drift: {} });
}
console.log(
  `[soak] ${Object.keys(modes).join(", ")} gateways up (${driverEnv.CONTAINER_DRIVER} driver); running ${values.minutes} min, a fault every ${values["fault-every"]} s`,
);

/** One session: numbered frames every 50 ms for `lifeMs`, then CloseStream; every frame must echo back. */
async function session(lane: Lane, id: string, lifeMs: number): Promise<void> {
  const ws = track(lane, new WebSocket(`${lane.gw.listenUrl}?sessionId=${id}`));
  ws.binaryType = "arraybuffer";
  let echoed = 0;
  let opened = false;
  let steady = false;
  const leaveSteady = () => {
    if (steady) lane.steady--;
    steady = false;
  };
  const closed = new Promise<number>((resolve) =>
    ws.addEventListener("close", (e) => {
      leaveSteady();
      resolve(e.code);
    }),
  );
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") echoed++;
    else if (!opened && JSON.parse(e.data).type === "Metadata") {
      opened = steady = true;
      lane.open++;
      lane.steady++;
      tally.sessions++;
    }
  });
  const until = performance.now() + lifeMs;
  let sent = 0;
  await Promise.race([new Promise((r) => ws.addEventListener("open", r)), closed]);
  while (ws.readyState === WebSocket.OPEN && performance.now() < until) {
    if (opened) ws.send(new Uint8Array(100).fill(sent++ & 0xff));
    await Bun.sleep(50);
  }
  leaveSteady();
  if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"CloseStream"}');
  const code = await Promise.race([closed, Bun.sleep(15_000).then(() => -1)]);
  if (opened) lane.open--;
  else tally.refused++;
  // A refused upgrade (503 at capacity or during a restart) shows as 1006 to a WebSocket client.
  tally.closeCodes[code] = (tally.closeCodes[code] ?? 0) + 1;
  tally.framesSent += sent;
  // Frames are lost only with a session a fault ended (1012); a normal close must have echoed everything.
  if (code === 1000 && echoed < sent) {
    tally.framesLost += sent - echoed;
    problems.push(`${lane.mode}: session ${id} closed 1000 with ${sent - echoed} of ${sent} frames not echoed`);
  }
  if (code === -1) problems.push(`${lane.mode}: session ${id} did not close within 15 s of CloseStream`);
}

/** Counts `ws` in the lane's live sockets until its close is seen. */
function track(lane: Lane, ws: WebSocket): WebSocket {
  lane.live++;
  ws.addEventListener("close", () => lane.live--);
  return ws;
}

/** Keeps 0-4 sessions per gateway coming and going, with a quiet spell now and then so instances sleep and wake. */
async function load(lane: Lane, stopAt: number): Promise<void> {
  const running = new Set<Promise<void>>();
  for (let n = 0; performance.now() < stopAt; n++) {
    if (performance.now() > lane.quietUntil && Math.random() < 0.03) lane.quietUntil = performance.now() + 6000;
    const quiet = performance.now() < lane.quietUntil;
    if (!quiet && running.size < 1 + Math.floor(Math.random() * 4)) {
      const p = session(lane, `soak-${n % 12}`, 1000 + Math.random() * 4000).finally(() => running.delete(p));
      running.add(p);
    }
    await Bun.sleep(150);
  }
  await Promise.all(running);
}

/** The faults, in turn: SIGKILL a container, a client vanishing mid-frame, an oversized frame, garbage control text. */
async function injectFault(n: number): Promise<void> {
  // Kinds rotate every fault, gateways every fault too but shifted each round, so each meets every kind.
  const kind = (["kill", "vanish", "oversized", "garbage"] as const)[n % 4];
  const lane = lanes[(n + Math.floor(n / 4)) % lanes.length]!;
  tally.faults.push(`${lane.mode}:${kind}`);
  if (kind === "kill") {
    const stats = await lane.gw.stats();
    const victim = stats.instances.find((i: any) => i.state === "running" && i.containerId);
    if (!victim) return;
    if (engine) await podman("kill", "--signal", "KILL", victim.containerId).catch(() => undefined);
    else process.kill(Number(String(victim.containerId).replace("pid:", "")), "SIGKILL");
    return;
  }
  const ws = track(lane, new WebSocket(`${lane.gw.listenUrl}?sessionId=fault-${n}`));
  await Promise.race([new Promise((r) => ws.addEventListener("message", r, { once: true })), Bun.sleep(10_000)]);
  if (kind === "oversized") ws.send(new Uint8Array(70_000));
  if (kind === "garbage") for (const text of ["{", '{"type":"Nope"}', "x".repeat(5000)]) ws.send(text);
  if (kind === "vanish") ws.send(new Uint8Array(100_000).subarray(0, 1));
  await Bun.sleep(500);
  ws.close(); // for "vanish" the close races the frame; the gateway must count it either way
}

/** Compares each gateway's view with the truth; a mismatch that lasts DRIFT_SAMPLES samples is a problem. */
async function sample(lane: Lane, withRss: boolean): Promise<void> {
  // The gateway answers at some instant during the request: the bounds are widened over the request's span.
  const [steadyBefore, liveBefore] = [lane.steady, lane.live];
  const stats = await lane.gw.stats();
  const steady = Math.min(steadyBefore, lane.steady);
  const live = Math.max(liveBefore, lane.live);
  const connections = stats.instances.reduce((sum: number, i: any) => sum + i.connections, 0);
  const running = stats.instances.filter((i: any) => i.state === "running").length;
  const containers = engine ? (await containersOf(lane.gw.gatewayName, { running: true })).length : running;
  const open = stats.totals.openSessions;
  // Within the bounds the count is the truth; outside them it is compared with the nearer bound.
  const held = Math.min(Math.max(open, steady), live);
  if (held !== open && process.env.SOAK_DEBUG) console.log(`[debug] ${lane.mode} open=${open} steady=${steady} live=${live}`);
  const checks: Record<string, [number, number]> = {
    "open sessions vs held": [open, held],
    "instance connections vs open sessions": [connections, stats.totals.openSessions],
    "coordinator vs open sessions": [stats.coordinator.totalSessions, stats.totals.openSessions],
    "running instances vs engine containers": [running, containers],
  };
  for (const [name, [seen, truth]] of Object.entries(checks)) {
    lane.drift[name] = seen === truth ? 0 : (lane.drift[name] ?? 0) + 1;
    if (lane.drift[name] === DRIFT_SAMPLES) problems.push(`${lane.mode}: ${name}: ${seen} != ${truth} for ${DRIFT_SAMPLES} samples`);
  }
  if (withRss) lane.rssMiB.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${lane.gw.pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
}

const startedAt = performance.now();
const stopAt = startedAt + durationMs;
const loads = lanes.map((lane) => load(lane, stopAt));
let faults = 0;
let nextFaultAt = startedAt + Math.min(faultEveryMs, durationMs / 2);
for (let tick = 0; performance.now() < stopAt; tick++) {
  await Promise.all(lanes.map((lane) => sample(lane, tick % 5 === 0).catch((e) => problems.push(`${lane.mode}: /stats failed: ${e}`))));
  if (performance.now() >= nextFaultAt) {
    await injectFault(faults++).catch((e) => problems.push(`fault ${faults} failed: ${e}`));
    nextFaultAt += faultEveryMs;
  }
  await Bun.sleep(SAMPLE_MS);
}
await Promise.all(loads);

// Settled: no session open anywhere, and the gateway's view equals the engine's.
await Bun.sleep(1500);
for (const lane of lanes) {
  const stats = await lane.gw.stats();
  if (stats.totals.openSessions !== 0 || lane.open !== 0)
    problems.push(`${lane.mode}: ${stats.totals.openSessions} sessions open after the load stopped (held: ${lane.open})`);
  await sample(lane, true);
}
for (const lane of lanes) lane.gw.kill("SIGTERM");
for (const lane of lanes) {
  const code = await lane.gw.exited;
  if (code !== 0) problems.push(`${lane.mode}: gateway exited ${code} on SIGTERM`);
  if (engine) {
    const left = await containersOf(lane.gw.gatewayName);
    if (left.length > 0) problems.push(`${lane.mode}: ${left.length} containers left after shutdown`);
  }
  // Leak: RSS at the end against RSS after the first quarter (warm-up), with room for allocator noise.
  const warm = lane.rssMiB[Math.floor(lane.rssMiB.length / 4)] ?? lane.rssMiB[0]!;
  const last = lane.rssMiB.at(-1)!;
  console.log(`[soak] ${lane.mode.padEnd(9)} RSS MiB over time: ${lane.rssMiB.map((m) => m.toFixed(0)).join(" ")}`);
  if (last > warm * 1.5 + 30) problems.push(`${lane.mode}: RSS grew from ${warm.toFixed(0)} to ${last.toFixed(0)} MiB`);
}
console.log(
  `[soak] ${((performance.now() - startedAt) / 1000).toFixed(0)} s: ${tally.sessions} sessions (${tally.refused} refused or cut before Metadata), ` +
    `${tally.framesSent} frames sent, ${tally.framesLost} lost on clean closes; close codes ${JSON.stringify(tally.closeCodes)}; faults: ${tally.faults.join(", ")}`,
);
if (problems.length > 0) {
  console.log(`[soak] FAILED:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("[soak] OK: no drift, no leak, no lost frame");
process.exit(0);
