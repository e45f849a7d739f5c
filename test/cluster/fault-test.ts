/**
 * What every cluster fault test shares: registration gated on both the engine and redis-server (skipped with
 * the reason, or failed under REQUIRE_ENGINE=1), the image this run tests, and the closing check that the counts
 * equal the open sockets and that the cluster, stopped gateway by gateway, leaves no container behind.
 */
import { expect } from "bun:test";
import { ensureImage } from "../../runtime/image-build.ts";
import { engine, engineTest } from "../engine.ts";
import { redisServerPath, redisTest } from "../redis.ts";
import { countsSettle, type OpenByGateway } from "./counts.ts";
import type { TestCluster } from "./harness.ts";

/** `test` when an engine and redis-server are both available; otherwise the skip (or failure) of the missing one. */
export function clusterTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (!redisServerPath) return redisTest(name, fn, timeoutMs);
  engineTest(name, fn, timeoutMs);
}

/** Builds the transcriber image (TRANSCRIBER_IMAGE) when its sources changed; nothing without an engine. */
export async function prepareImage(): Promise<void> {
  if (engine && redisServerPath) await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
}

/**
 * The end of every scenario: the counts in every /stats equal the sockets still open (`open`), then each gateway
 * is SIGTERMed in turn (each must exit 0) and no container of the cluster is left on the engine.
 */
export async function expectCleanEnd(cluster: TestCluster, open: OpenByGateway = {}): Promise<void> {
  await countsSettle(cluster, open, 3000);
  for (const id of cluster.runningIds) expect({ id, code: await cluster.sigterm(id) }).toEqual({ id, code: 0 });
  expect((await cluster.containers()).map((c) => `${c.name} (${c.running ? "running" : "stopped"})`)).toEqual([]);
}
