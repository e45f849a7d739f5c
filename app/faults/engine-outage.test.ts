/**
 * Fault 4: the engine API goes away. The test runs its own `podman system service` on a private socket (never
 * the shared one), points a gateway process at it, stops it and starts it again.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { ensureImage } from "../../runtime/image-build.ts";
import { pingSocket } from "../../runtime/engine.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { containersOf } from "../../test/podman.ts";
import { spawnGateway, tryUpgrade } from "./gateway-process.ts";
import { poolIdsFor } from "./pool-ids.ts";

const SOCKET = `/tmp/te-faults-${process.pid}.sock`;
const DOCKER_HOST = `unix://${SOCKET}`;

/** Starts a private engine API service and resolves once it answers. */
async function startEngineService(): Promise<ReturnType<typeof Bun.spawn>> {
  if (existsSync(SOCKET)) rmSync(SOCKET);
  const service = Bun.spawn(["podman", "system", "service", "--time=0", DOCKER_HOST], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (await pingSocket(DOCKER_HOST, 500)) return service;
    await Bun.sleep(100);
  }
  service.kill("SIGKILL");
  throw new Error(`podman system service on ${SOCKET} did not answer`);
}

describe("fault: the container engine API goes away", () => {
  let service: ReturnType<typeof Bun.spawn> | undefined;
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    service = await startEngineService();
  }, 300_000);
  afterAll(async () => {
    service?.kill("SIGTERM");
    await service?.exited;
    if (existsSync(SOCKET)) rmSync(SOCKET);
  });

  engineTest(
    "the gateway stays up, readyz says why, new container starts get 503 + Retry-After, running sessions go on, and it resumes within 5 s",
    async () => {
      const gw = await spawnGateway({
        DOCKER_HOST,
        ROUTING_MODE: "pool",
        CONTAINER_POOL_SIZE: "2",
        CONTAINER_DRIVER: "podman",
        CONTAINER_NETWORK: "host",
        TRANSCRIBER_BACKEND: "echo",
      });
      try {
        // One session on pool-0; pool-1 never starts until the outage is over.
        const [onPool0] = poolIdsFor("pool-0", 2, 1, "outage");
        const [onPool1] = poolIdsFor("pool-1", 2, 1, "outage");
        const held = TestClient.connect(`${gw.listenUrl}?sessionId=${onPool0}`);
        await held.next("Metadata", 30_000);

        service!.kill("SIGTERM");
        await service!.exited;
        const downAt = performance.now();
        await gw.waitForLog((l) => l.msg?.startsWith("container engine unavailable"), 10_000);
        const noticedMs = performance.now() - downAt;
        const readyz = await fetch(`${gw.httpUrl}/readyz`);
        expect(readyz.status).toBe(503);
        const why = await readyz.json();
        expect(why).toMatchObject({ ready: false, reason: "engine_unavailable" });
        expect(why.message).toContain(SOCKET);

        // The running session goes on through the outage (its container runs on under conmon).
        for (let i = 0; i < 20; i++) {
          held.send(new Uint8Array([i]));
          await Bun.sleep(50);
        }
        await held.until(() => held.binary.length === 20, 5000, "20 echoes during the outage");
        expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);

        // A session whose instance needs a container start is refused before the upgrade.
        const refusedId = onPool1!;
        const refused = await tryUpgrade(gw.listenUrl, `sessionId=${refusedId}`);
        expect(refused.status).toBe(503);
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);
        expect(refused.body).toContain("container engine not answering");

        service = await startEngineService();
        const backAt = performance.now();
        for (;;) {
          if ((await fetch(`${gw.httpUrl}/readyz`)).status === 200) break;
          if (performance.now() - backAt > 10_000) throw new Error("readyz did not recover within 10 s");
          await Bun.sleep(50);
        }
        const resumedMs = performance.now() - backAt;
        const after = TestClient.connect(`${gw.listenUrl}?sessionId=${refusedId}`);
        await after.next("Metadata", 30_000);
        console.log(
          `[fault engine] outage noticed after ${noticedMs.toFixed(0)} ms; service resumed ${resumedMs.toFixed(0)} ms after the engine returned`,
        );
        expect(resumedMs).toBeLessThan(5000);
        for (const c of [held, after]) c.send({ type: "CloseStream" });
        expect((await held.closed).code).toBe(1000);
        expect((await after.closed).code).toBe(1000);
        gw.kill("SIGTERM");
        expect(await gw.exited).toBe(0);
        expect(await containersOf(gw.gatewayName)).toEqual([]);
      } finally {
        gw.kill("SIGKILL");
      }
    },
    120_000,
  );

  engineTest(
    "SIGTERM after an outage removes the container it stops (shared mode: the container ran through the outage)",
    async () => {
      const gw = await spawnGateway({ DOCKER_HOST, ROUTING_MODE: "shared", CONTAINER_DRIVER: "podman", TRANSCRIBER_BACKEND: "echo" });
      try {
        const held = TestClient.connect(`${gw.listenUrl}?sessionId=across-the-outage`);
        await held.next("Metadata", 30_000);
        expect(await containersOf(gw.gatewayName)).toHaveLength(1);

        service!.kill("SIGKILL"); // killed, as an OOM kill or a crash of the service would
        await service!.exited;
        await gw.waitForLog((l) => l.msg?.startsWith("container engine unavailable"), 10_000);
        service = await startEngineService();
        await gw.waitForLog((l) => l.msg === "container engine answers again: resuming", 10_000);

        const again = TestClient.connect(`${gw.listenUrl}?sessionId=after-the-outage`);
        expect((await again.next("Metadata", 30_000)).start).toBe("warm"); // the container that ran through it
        again.send(new Uint8Array([7]));
        await again.until(() => again.binary.length === 1, 5000, "an echo after the outage");

        gw.kill("SIGTERM");
        expect(await gw.exited).toBe(0);
        expect(await containersOf(gw.gatewayName)).toEqual([]);
      } finally {
        gw.kill("SIGKILL");
      }
    },
    120_000,
  );
});
