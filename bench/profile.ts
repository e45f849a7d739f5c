/**
 * `bun bench/profile.ts [sessions] [seconds]`: runs the gateway under `bun --cpu-prof` with the relay load
 * (echo containers, 50 msg/s per session) and prints where its CPU time went, by function (self time).
 * `bun bench/profile.ts --connects N`: instead, N warm connects one after another (connect -> Metadata -> close).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLoad } from "./load/drive.ts";
import { echoSpec } from "./load/spec.ts";
import { poolIds, prewarmedPoolEnv, startGateway } from "./procs.ts";
import { topSelfTime } from "./sections/capacity-profile.ts";
import { connectOnce } from "./sections/relay.ts";

const connectsAt = process.argv.indexOf("--connects");
const connects = connectsAt > 0 ? Number(process.argv[connectsAt + 1] ?? 2000) : 0;
const sessions = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 10);
const dir = mkdtempSync(join(tmpdir(), "bench-prof-"));
const gateway = await startGateway(prewarmedPoolEnv(4, { TRANSCRIBER_BACKEND: "echo" }), ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
try {
  await gateway.waitRunning(poolIds(4));
  if (connects > 0) await warmConnects(gateway.listenUrl, connects);
  else {
    const urls = Array.from({ length: sessions }, (_, i) => `${gateway.listenUrl}?sessionId=prof-${i}&encoding=opus`);
    const result = await runLoad(echoSpec(urls, { durationMs: seconds * 1000, warmupMs: 1000, awaitText: true })).result;
    console.log(`load: ${JSON.stringify(result.latencyMs)} ${Math.round(result.msgsPerS)} msg/s`);
  }
} finally {
  await gateway.stop();
}
const top = topSelfTime(dir);
console.log(`profile: ${top.file}; top self time of ${top.sampledMs.toFixed(0)} ms sampled:`);
for (const line of top.lines) console.log(`${line.share.toFixed(1).padStart(5)}%  ${line.where}`);

/** Connect -> first message (Metadata) -> close, `count` times in a row; prints the median. */
async function warmConnects(listenUrl: string, count: number): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await connectOnce(`${listenUrl}?sessionId=prof-${i}&encoding=opus`, "message"));
  samples.sort((a, b) => a - b);
  console.log(`connects: ${count}, p50 ${samples[Math.floor(count / 2)]!.toFixed(2)} ms`);
}
