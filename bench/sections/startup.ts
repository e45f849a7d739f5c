/**
 * Connect -> Metadata for a cold instance, and for the same instance woken after it slept, on the podman
 * driver (image local) and the process driver. Session mode gives each new sessionId its own instance, so
 * every new id is a cold start; a short SLEEP_AFTER puts them to sleep, and the same ids then wake them.
 */
import { ADMISSION_OFF, startGateway, type GatewayProcess } from "../procs.ts";
import type { Report } from "../report.ts";
import { summarize } from "../stats.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";

/** Measures cold starts and wakes on one driver; `key` is "" for podman, "process" for the process driver. */
export async function startupSection(report: Report, driver: "podman" | "process", count: number): Promise<void> {
  const gateway = await startGateway({
    ...ADMISSION_OFF,
    ROUTING_MODE: "session",
    MAX_INSTANCES: String(count + 2),
    SLEEP_AFTER: "1s",
    CONTAINER_DRIVER: driver,
    CONTAINER_NETWORK: "host",
    TRANSCRIBER_BACKEND: "echo",
  });
  const prefix = driver === "podman" ? "" : `.${driver}`;
  try {
    const ids = Array.from({ length: count }, (_, i) => `start-${driver}-${i}`);
    report.progress(`cold starts, ${driver} driver: ${count} new instances one after another`);
    const cold: number[] = [];
    for (const id of ids) cold.push(await connectToMetadata(gateway, id, "cold"));
    record(report, `cold_start_ms${prefix}`, cold);

    report.progress(`waiting for the ${driver} instances to sleep (SLEEP_AFTER=1s)`);
    await waitAllSleeping(gateway, count);
    report.progress(`wakes, ${driver} driver`);
    const woken: number[] = [];
    for (const id of ids) woken.push(await connectToMetadata(gateway, id, "wake"));
    record(report, `wake_ms${prefix}`, woken);
  } finally {
    await gateway.stop();
  }
}

function record(report: Report, key: string, samples: number[]): void {
  const s = summarize(samples);
  report.set(key, { p50: s.p50, p95: s.p95, n: s.n });
}

/** Opens a session, waits for Metadata (checking its start kind), closes; returns the client-side milliseconds. */
async function connectToMetadata(gateway: GatewayProcess, sessionId: string, expected: string): Promise<number> {
  const started = performance.now();
  const ws = new WebSocket(`${gateway.listenUrl}?sessionId=${sessionId}&${QUERY}`);
  const metadata = await new Promise<any>((resolve, reject) => {
    ws.onmessage = (event) => resolve(JSON.parse(String(event.data)));
    ws.onclose = (event) => reject(new Error(`${sessionId}: closed ${event.code} ${event.reason} before Metadata`));
  });
  const elapsedMs = performance.now() - started;
  ws.onclose = null;
  ws.close(1000);
  if (metadata.type !== "Metadata" || metadata.start !== expected) {
    throw new Error(`${sessionId}: expected Metadata with start ${expected}, got ${JSON.stringify(metadata)}`);
  }
  return elapsedMs;
}

async function waitAllSleeping(gateway: GatewayProcess, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const doc = await gateway.stats();
    if (doc.instances.filter((i: any) => i.state === "sleeping").length >= count) return;
    await Bun.sleep(100);
  }
  throw new Error(`instances did not all sleep within ${timeoutMs} ms`);
}
