/**
 * Fault 6: a container that cannot start, for two reasons: an image that does not exist, and an image whose
 * process exits at once. The session gets an Error naming the image and 1013, later ones 503 + Retry-After
 * while the instance backs off (visible in /stats), and the driver is asked to start only a few times.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { loadConfig } from "../config.ts";
import { Gateway } from "../gateway.ts";
import { createLogger } from "../log.ts";
import type { ContainerDriver } from "../../runtime/driver.ts";
import { ensureImage } from "../../runtime/image-build.ts";
import { DEFAULT_TRANSCRIBER_IMAGE } from "../../runtime/image.ts";
import { PodmanDriver } from "../../runtime/podman-driver.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { containersOf, podman } from "../../test/podman.ts";
import { tryUpgrade } from "./gateway-process.ts";

const EXITS_AT_ONCE = `localhost/te-exits-at-once-${process.pid}:test`;

/** A gateway over a podman driver running `image`, with a count of the driver's start attempts. */
async function gatewayWithImage(image: string) {
  const gatewayName = `badimg-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    GATEWAY_NAME: gatewayName,
    ROUTING_MODE: "shared",
    TRANSCRIBER_BACKEND: "echo",
    CONTAINER_NETWORK: "host",
    LOG_LEVEL: "silent",
  });
  const podmanDriver = new PodmanDriver({ engine: engine!, image, gatewayName, network: "host" });
  let starts = 0;
  const driver: ContainerDriver = Object.assign(Object.create(podmanDriver) as ContainerDriver, {
    start: (spec: Parameters<ContainerDriver["start"]>[0]) => {
      starts++;
      return podmanDriver.start(spec);
    },
  });
  const gateway = new Gateway(config, { driver, logger: createLogger("silent") });
  const { port } = await gateway.start();
  return { gateway, gatewayName, listenUrl: `ws://127.0.0.1:${port}/v1/listen`, starts: () => starts };
}

describe("fault: a container that cannot start", () => {
  beforeAll(async () => {
    if (!engine) return;
    await ensureImage({ log: (line: string) => console.log(`[image] ${line}`) });
    // The real transcriber with a setting it rejects: it prints one line and exits 1 at once.
    const context = `/tmp/te-exits-at-once-${process.pid}`;
    await Bun.write(`${context}/Containerfile`, `FROM ${DEFAULT_TRANSCRIBER_IMAGE}\nENV REALTIME_SESSION_MAX_MS=0\n`);
    await podman("build", "-q", "-t", EXITS_AT_ONCE, context);
  }, 300_000);
  afterAll(async () => {
    if (engine) await podman("rmi", "-f", EXITS_AT_ONCE).catch(() => undefined);
  });

  for (const [label, image, why] of [
    ["an image that does not exist", "localhost/does-not-exist", /does-not-exist/],
    ["an image whose process exits at once", EXITS_AT_ONCE, /exited|died|exit/i],
  ] as const) {
    engineTest(
      `${label}: Error naming the image and 1013, then 503 + Retry-After, bounded backoff in /stats, no retry storm`,
      async () => {
        const gw = await gatewayWithImage(image);
        try {
          const first = TestClient.connect(`${gw.listenUrl}?sessionId=first`);
          const closed = await first.closed;
          expect(closed.code).toBe(1013);
          const error = first.ofType("Error").at(-1)!;
          expect(error.code).toBe("container_failed");
          expect(error.message).toContain(image.split(":")[0]!);
          expect(error.message).toMatch(why);

          // 3 s of sessions, 10 a second: each is refused fast, and the engine is asked only per backoff period.
          const statuses: Record<string, number> = {};
          const nextStartAts = new Set<string>();
          const until = performance.now() + 3000;
          for (let i = 0; performance.now() < until; i++) {
            const refused = await tryUpgrade(gw.listenUrl, `sessionId=again-${i}`);
            const key = refused.status === 101 ? "upgraded" : String(refused.status);
            statuses[key] = (statuses[key] ?? 0) + 1;
            if (refused.status === 503) expect(Number(refused.retryAfter)).toBeGreaterThan(0);
            const shown = (await (await fetch(`${gw.listenUrl.replace(/^ws:(.*)\/v1\/listen$/, "http:$1")}/stats`)).json()).instances[0];
            if (shown.nextStartAt) nextStartAts.add(shown.nextStartAt);
            await Bun.sleep(100);
          }
          const instance = gw.gateway.state.registry.get("shared").snapshot();
          console.log(
            `[fault ${label}] ${gw.starts()} start attempts in ~3.5 s; answers ${JSON.stringify(statuses)}; /stats: startFailures ${instance.startFailures}, nextStartAt values seen ${[...nextStartAts].join(", ")}; lastError: ${instance.lastError?.slice(0, 160)}`,
          );
          expect(statuses["503"]).toBeGreaterThan(0);
          expect(gw.starts()).toBeLessThanOrEqual(4);
          expect(["failed", "starting"]).toContain(instance.state); // "starting": the next attempt of the backoff
          expect(instance.startFailures).toBeGreaterThanOrEqual(2);
          expect(nextStartAts.size).toBeGreaterThanOrEqual(1);
          expect(instance.connections).toBe(0);
          expect(gw.gateway.state.relays.size).toBe(0);
        } finally {
          await gw.gateway.shutdown();
        }
        expect(await containersOf(gw.gatewayName)).toEqual([]);
      },
      60_000,
    );
  }
});
