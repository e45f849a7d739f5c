/**
 * A cluster of three gateways on one Redis (ROUTING_STORE=redis), beside one in-memory gateway in the same run:
 * the store's calls per routing decision (cluster-store.ts), warm connects through the cluster against one
 * gateway, Redis commands and memory per session, duplicate container starts when 1,000 connects race over the
 * three gateways for a handful of cold ids, and how long the counts take to drop a SIGKILLed gateway's sessions
 * (cluster-race.ts). Redis is a private redis-server (test/redis.ts); every process is started and stopped here by its pid.
 */
import { RedisClient } from "bun";
import { startRedis } from "../../test/redis.ts";
import { ADMISSION_OFF, type GatewayProcess, poolIds, startGateway } from "../procs.ts";
import type { Report } from "../report.ts";
import { round3, summarize } from "../stats.ts";
import { openAll, openSessions, startCluster, stopAll } from "./cluster-gateways.ts";
import { racingStartsAndKill } from "./cluster-race.ts";
import { clusterStoreSection } from "./cluster-store.ts";
import { connectOnce } from "./relay.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/** Every pool gateway the connect and command measurements use: echo transcribers as local processes. */
const POOL_ENV = {
  ...ADMISSION_OFF,
  ROUTING_MODE: "pool",
  CONTAINER_POOL_SIZE: "2",
  POOL_PREWARM: "true",
  CONTAINER_DRIVER: "process",
  TRANSCRIBER_BACKEND: "echo",
  SLEEP_AFTER: "1h",
};

export async function clusterSection(report: Report, options: { quick: boolean }): Promise<void> {
  const { quick } = options;
  const redis = await startRedis();
  const client = new RedisClient(redis.url);
  try {
    report.version("redis", (await client.send("INFO", ["server"])).match(/redis_version:(\S+)/)?.[1] ?? "unknown");
    await clusterStoreSection(report, redis.url, quick);
    const single = await startGateway(POOL_ENV);
    const cluster = await startCluster(redis.url, POOL_ENV);
    try {
      await Promise.all([single, ...cluster.gateways].map((g) => g.waitRunning(poolIds(2))));
      await warmConnects(report, single, cluster.gateways, quick ? 100 : 300);
      await commandsPerSession(report, client, cluster.gateways, quick ? 60 : 300);
    } finally {
      await stopAll([single, ...cluster.gateways]);
    }
    await racingStartsAndKill(report, redis.url, quick);
  } finally {
    client.close();
    await redis.stop();
  }
}

/** Connect -> Metadata on running members, interleaved: one in-memory gateway, then the cluster's next gateway. */
async function warmConnects(report: Report, single: GatewayProcess, gateways: GatewayProcess[], count: number): Promise<void> {
  report.progress(`warm connects: ${count} to one in-memory gateway and ${count} round-robin over 3 clustered gateways`);
  // Each gateway warmed up alike first: the single one would otherwise get three times the JIT warm-up.
  for (const gateway of [single, ...gateways]) {
    for (let i = 0; i < 20; i++) await connectOnce(`${gateway.listenUrl}?sessionId=warmup-${i}&${QUERY}`, "message");
  }
  const alone: number[] = [];
  const clustered: number[] = [];
  for (let i = 0; i < count; i++) {
    alone.push(await connectOnce(`${single.listenUrl}?sessionId=warm-${i}&${QUERY}`, "message"));
    await Bun.sleep(5);
    clustered.push(await connectOnce(`${gateways[i % 3]!.listenUrl}?sessionId=warm-${i}&${QUERY}`, "message"));
    await Bun.sleep(5);
  }
  const a = summarize(alone);
  const c = summarize(clustered);
  report.set("cluster.warm_connect_ms", {
    single: { p50: a.p50, p99: a.p99 },
    cluster: { p50: c.p50, p99: c.p99 },
    p99_ratio: round3(c.p99 / a.p99),
  });
}

/** Calls per command name from INFO commandstats (commands run inside Lua scripts counted too). */
async function commandCalls(client: RedisClient): Promise<Map<string, number>> {
  const text = (await client.send("INFO", ["commandstats"])) as string;
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** What the cluster sends Redis on its own (heartbeats), per ms, over `windowMs` with no session. */
async function backgroundPerMs(client: RedisClient, windowMs: number): Promise<Map<string, number>> {
  const before = await commandCalls(client);
  await Bun.sleep(windowMs);
  const after = await commandCalls(client);
  return new Map([...after].map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / windowMs]));
}

/**
 * Redis commands per session (open + close, net of the heartbeats measured alone beforehand), by command, and
 * Redis memory per open session.
 */
async function commandsPerSession(report: Report, client: RedisClient, gateways: GatewayProcess[], sessions: number): Promise<void> {
  report.progress(`Redis commands: ${sessions} sessions opened and closed over 3 gateways (INFO commandstats)`);
  const background = await backgroundPerMs(client, 3_000);
  const before = await commandCalls(client);
  const startedAt = performance.now();
  for (let i = 0; i < sessions; i++) await connectOnce(`${gateways[i % 3]!.listenUrl}?sessionId=cmd-${i}&${QUERY}`, "message");
  while ((await openSessions(gateways)) > 0) await Bun.sleep(20);
  await Bun.sleep(200); // the last closes' writes
  const elapsedMs = performance.now() - startedAt;
  const after = await commandCalls(client);
  const perSession: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of after) {
    const net = n - (before.get(name) ?? 0) - (background.get(name) ?? 0) * elapsedMs;
    if (name === "info" || net / sessions < 0.05) continue;
    perSession[name] = round3(net / sessions);
    total += net / sessions;
  }
  const heartbeatPerS = round3([...background.entries()].filter(([n]) => n !== "info").reduce((s, [, v]) => s + v, 0) * 1000);

  const memory = async () => Number(/used_memory:(\d+)/.exec((await client.send("INFO", ["memory"])) as string)?.[1]);
  const idle = await memory();
  const held = await openAll(Array.from({ length: sessions }, (_, i) => `${gateways[i % 3]!.listenUrl}?sessionId=mem-${i}&${QUERY}`));
  await Bun.sleep(500);
  const bytesPerSession = Math.round(((await memory()) - idle) / sessions);
  for (const ws of held) ws.close();
  while ((await openSessions(gateways)) > 0) await Bun.sleep(20);
  report.set("cluster.redis_per_session", {
    commands: round3(total),
    by_command: perSession,
    heartbeat_commands_per_s: heartbeatPerS,
    memory_bytes: bytesPerSession,
    sessions,
  });
}
