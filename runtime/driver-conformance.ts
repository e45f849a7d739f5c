/**
 * One behavioural suite every ContainerDriver passes (docs/architecture.md, "Seams"). A driver's test file calls
 * driverConformance() with a harness that knows how to kill a container behind the driver's back and, for
 * engine drivers, how to read labels and plant leftovers.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { ContainerDriver, RunningContainer } from "./driver.ts";

export interface ConformanceHarness {
  /** A fresh driver for the suite. */
  driver: ContainerDriver;
  /** Environment for started transcribers (e.g. TRANSCRIBER_BACKEND=echo). */
  env: Record<string, string>;
  /** Kills the container outside the driver, as a crash or `podman kill` would. */
  kill(container: RunningContainer): Promise<void>;
  /** Whether the container (or process) still exists at all. */
  exists(container: RunningContainer): Promise<boolean>;
  /** Engine drivers: the container's labels. */
  labels?(container: RunningContainer): Promise<Record<string, string>>;
  /**
   * Engine drivers: creates one leftover with this gateway's labels and one of another gateway; resolves
   * their ids. cleanup() removes whatever is left of them.
   */
  plantLeftovers?(): Promise<{ ours: string; theirs: string; cleanup(): Promise<void> }>;
  /** Engine drivers: whether a container id still exists. */
  containerExists?(id: string): Promise<boolean>;
  /**
   * Another driver over the same engine and cluster, as a second gateway would hold (adopts what this one
   * started). Default: the same driver (the process driver cannot see another process's children).
   */
  peer?: ContainerDriver;
  /** Runs after the suite (close drivers, remove strays). */
  teardown?(): Promise<void>;
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), Bun.sleep(ms).then(() => false)]);
}

/**
 * Registers the conformance tests for one driver. `setup` runs once, lazily, in the first test; when
 * `skipReason` is set the suite is skipped with that reason printed, or fails under REQUIRE_ENGINE=1.
 */
export function driverConformance(
  label: string,
  setup: () => Promise<ConformanceHarness>,
  options: { skipReason?: string; requireEngine?: boolean; expectedLabels?: Record<string, string> } = {},
): void {
  if (options.skipReason) {
    if (options.requireEngine) {
      test(`${label} conformance: engine required`, () => {
        throw new Error(`REQUIRE_ENGINE=1 but ${options.skipReason}`);
      });
    } else {
      console.log(`[${label}] conformance skipped: ${options.skipReason}`);
      describe.skip(`${label} conformance`, () => test("skipped", () => {}));
    }
    return;
  }

  let harnessPromise: Promise<ConformanceHarness> | undefined;
  const harness = () => (harnessPromise ??= setup());

  describe(`${label} conformance`, () => {
    afterAll(async () => {
      if (!harnessPromise) return;
      const h = await harnessPromise;
      await h.driver.close();
      await h.teardown?.();
    });

    test("start resolves once GET /health answers 200 on the endpoint (cold start timed)", async () => {
      const { driver, env } = await harness();
      const timingsMs: number[] = [];
      for (let run = 0; run < 3; run++) {
        const t0 = performance.now();
        const container = await driver.start({ instanceId: `conf-${run}`, env });
        timingsMs.push(performance.now() - t0);
        const response = await fetch(`http://${container.host}:${container.port}/health`);
        expect(response.status).toBe(200);
        await driver.stop(container);
      }
      console.log(`[${label}] cold start to healthy: ${timingsMs.map((ms) => `${ms.toFixed(0)} ms`).join(", ")}`);
    });

    test("a container killed from outside resolves exited", async () => {
      const h = await harness();
      const container = await h.driver.start({ instanceId: "conf-kill", env: h.env });
      await h.kill(container);
      const info = await container.exited;
      expect(info.reason.length).toBeGreaterThan(0);
      await h.driver.stop(container); // still idempotent afterwards
    });

    test("stop removes it, never resolves exited, and is idempotent", async () => {
      const h = await harness();
      const container = await h.driver.start({ instanceId: "conf-stop", env: h.env });
      const t0 = performance.now();
      await h.driver.stop(container);
      console.log(`[${label}] stop took ${(performance.now() - t0).toFixed(0)} ms`);
      expect(await h.exists(container)).toBe(false);
      await h.driver.stop(container);
      expect(await settlesWithin(container.exited, 300)).toBe(false);
    });

    test("close stops everything it started", async () => {
      const h = await harness();
      const started = await Promise.all([0, 1].map((n) => h.driver.start({ instanceId: `conf-close-${n}`, env: h.env })));
      await h.driver.close();
      for (const container of started) expect(await h.exists(container)).toBe(false);
    });

    test("containers carry the gateway's labels", async () => {
      const h = await harness();
      if (!h.labels) return; // processes have no labels
      const container = await h.driver.start({ instanceId: "conf-labels", env: h.env });
      const labels = await h.labels(container);
      await h.driver.stop(container);
      expect(labels).toMatchObject({ ...options.expectedLabels, "io.transcribe-edge.instance": "conf-labels" });
    });

    test("list shows a started container: its instance, the spec's extra labels, running, its endpoint", async () => {
      const h = await harness();
      const labels = { "io.transcribe-edge.replica": "gw-conf", "io.transcribe-edge.fence": "7" };
      const container = await h.driver.start({ instanceId: "conf-list", env: h.env, labels });
      try {
        const listed = (await (h.peer ?? h.driver).list()).find((info) => info.id === container.id);
        expect(listed).toBeDefined();
        expect(listed!).toMatchObject({ instanceId: "conf-list", running: true, labels });
        expect(listed!.endpoint?.port).toBe(container.port);
        const response = await fetch(`http://${listed!.endpoint!.host}:${listed!.endpoint!.port}/health`);
        expect(response.status).toBe(200);
      } finally {
        await h.driver.stop(container);
      }
      expect((await h.driver.list()).some((info) => info.id === container.id && info.running)).toBe(false);
    });

    test("a peer adopts a listed container: a kill resolves the adopted exited; remove() by id removes it", async () => {
      const h = await harness();
      const peer = h.peer ?? h.driver;
      const first = await h.driver.start({ instanceId: "conf-adopt", env: h.env });
      const info = (await peer.list()).find((candidate) => candidate.id === first.id)!;
      const adopted = peer.adopt(info);
      expect(adopted.id).toBe(first.id);
      expect(adopted.port).toBe(first.port);
      await h.kill(first);
      expect(await settlesWithin(adopted.exited, 10_000)).toBe(true);
      await h.driver.stop(first);

      const second = await h.driver.start({ instanceId: "conf-remove", env: h.env });
      await peer.remove(second.id);
      expect(await h.exists(second)).toBe(false);
      await peer.remove(second.id); // already gone: not an error
      await h.driver.stop(second);
    });

    test("sweep removes this gateway's leftovers and no other gateway's", async () => {
      const h = await harness();
      if (!h.plantLeftovers || !h.containerExists) {
        expect(await h.driver.sweep()).toBe(0);
        return;
      }
      const planted = await h.plantLeftovers();
      try {
        expect(await h.driver.sweep()).toBeGreaterThanOrEqual(1);
        expect(await h.containerExists(planted.ours)).toBe(false);
        expect(await h.containerExists(planted.theirs)).toBe(true);
      } finally {
        await planted.cleanup();
      }
    });
  });
}
