/**
 * Gating for tests that need a container engine: they skip with a printed reason when none answers, unless
 * REQUIRE_ENGINE=1, which turns the skip into a failure (CI sets it).
 */
import { test } from "bun:test";
import { type EngineSocket, findEngine } from "../runtime/engine.ts";

export const engine: EngineSocket | undefined = await findEngine(process.env, 1000);
const required = process.env.REQUIRE_ENGINE === "1";

if (engine) process.env.DOCKER_HOST ??= engine.dockerHost;
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";

/** `test` when an engine answers; otherwise a skip with the reason, or a failure under REQUIRE_ENGINE=1. */
export function engineTest(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (engine) return void test(name, fn, timeoutMs);
  const reason = "no container engine answered (tried $DOCKER_HOST, /run/podman/podman.sock, rootless podman, /var/run/docker.sock)";
  if (required) {
    test(name, () => {
      throw new Error(`REQUIRE_ENGINE=1 but ${reason}`);
    });
  } else {
    console.warn(`[skip] ${name}: ${reason}`);
    test.skip(name, fn);
  }
}
