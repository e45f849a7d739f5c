/** Runs the load worker as its own process and collects its JSON lines. */
import { join } from "node:path";
import { forEachLine } from "../lines.ts";
import type { LoadResult, LoadSpec } from "./spec.ts";

export interface LoadRun {
  /** Resolves once every session is open (or the run failed). */
  ready: Promise<void>;
  /** Resolves when the measured window starts. */
  measuring: Promise<void>;
  result: Promise<LoadResult>;
  pid: number;
}

/** Spawns `bun bench/load/worker.ts` with `spec` on its stdin (minutes of audio do not fit one argument). */
export function runLoad(spec: LoadSpec): LoadRun {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "worker.ts")], {
    stdin: new Blob([JSON.stringify(spec)]),
    stdout: "pipe",
    stderr: "inherit",
  });
  let onReady!: () => void;
  let onMeasuring!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const measuring = new Promise<void>((resolve) => (onMeasuring = resolve));
  const result = (async (): Promise<LoadResult> => {
    let final: LoadResult | undefined;
    await forEachLine(child.stdout as ReadableStream<Uint8Array>, (text) => {
      const line = JSON.parse(text);
      if (line.event === "ready") onReady();
      else if (line.event === "measuring") onMeasuring();
      else if (line.event === "result") final = line;
    });
    await child.exited;
    onReady();
    onMeasuring();
    if (!final) throw new Error(`load worker exited ${child.exitCode} without a result`);
    return final;
  })();
  return { ready, measuring, result, pid: child.pid };
}
