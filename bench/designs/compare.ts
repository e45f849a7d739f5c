/**
 * `bun bench/designs/compare.ts [ws tcp wsuds ...]`: the upstream designs side by side in minimal relays, at the
 * relay bench's load (200 sessions x 50 msg/s), with each relay's user and system CPU per frame. How the
 * gateway's upstream was chosen (docs/performance.md).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { runLoad } from "../load/drive.ts";
import { echoSpec } from "../load/spec.ts";
import { cpuMs } from "../procs.ts";
import { freePort } from "../../runtime/free-port.ts";

const designs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["ws", "tcp", "wsuds", "ws", "tcp", "wsuds"];
const unixPath = join(import.meta.dir, `.echo-${process.pid}.sock`);
const echoPort = await freePort();
const echoes = [
  Bun.spawn([process.execPath, join(import.meta.dir, "echo-server.ts")], { env: { ...process.env, PORT: String(echoPort) } }),
  Bun.spawn([process.execPath, join(import.meta.dir, "echo-server.ts")], { env: { ...process.env, UNIX: unixPath } }),
];
await Bun.sleep(500);
try {
  for (const design of designs) {
    const port = await freePort();
    const relay = Bun.spawn([process.execPath, join(import.meta.dir, "minimal-relay.ts")], {
      env: { ...process.env, PORT: String(port), UP: String(echoPort), UNIX: unixPath, DESIGN: design },
    });
    await Bun.sleep(500);
    const urls = Array.from({ length: 200 }, (_, i) => `ws://127.0.0.1:${port}/?s=${i}`);
    const run = runLoad(echoSpec(urls, { durationMs: 5_000, warmupMs: 1_000 }));
    await run.measuring;
    const before = cpuMs(relay.pid);
    await Bun.sleep(5_000);
    const usedMs = cpuMs(relay.pid) - before;
    const result = await run.result;
    const frames = 2 * result.windowReceived;
    console.log(
      `${design.padEnd(6)} p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  ${Math.round(result.msgsPerS)} msg/s  CPU ${((usedMs * 1000) / frames).toFixed(1)} us/frame`,
    );
    relay.kill();
    await relay.exited;
  }
} finally {
  for (const echo of echoes) echo.kill();
  rmSync(unixPath, { force: true });
}
