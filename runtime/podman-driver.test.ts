import { readFileSync } from "node:fs";
import { getContainerRuntimeClient } from "testcontainers";
import { driverConformance, type ConformanceHarness } from "./driver-conformance.ts";
import { LABEL_GATEWAY, LABEL_MANAGED } from "./driver.ts";
import { findEngine, type EngineSocket } from "./engine.ts";
import { ensureImage } from "./image-build.ts";
import { transcriberImage } from "./image.ts";
import { ImageMissingError, PodmanDriver, type ContainerNetwork } from "./podman-driver.ts";
import { EXPECTED_OPUS_BUILD } from "../test/opus-build.ts";

const engine = await findEngine(process.env, 1_000);
const skipReason = engine ? undefined : "no container engine answered (start one with scripts/engine-setup.sh)";
const requireEngine = process.env.REQUIRE_ENGINE === "1";

async function exists(id: string): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  return client.container
    .getById(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

function harness(engineSocket: EngineSocket, network: ContainerNetwork, gatewayName: string) {
  return async (): Promise<ConformanceHarness> => {
    await ensureImage({ log: (line) => console.log(line) });
    const driver = new PodmanDriver({ engine: engineSocket, gatewayName, network });
    const peer = new PodmanDriver({ engine: engineSocket, gatewayName, network });
    const client = await getContainerRuntimeClient();
    const plant = async (gateway: string) => {
      const container = await client.container.dockerode.createContainer({
        Image: transcriberImage(),
        name: `te-${gateway}-leftover-${crypto.randomUUID().slice(0, 8)}`,
        Labels: { [LABEL_MANAGED]: "true", [LABEL_GATEWAY]: gateway },
      });
      return container.id;
    };
    return {
      driver,
      peer,
      env: { TRANSCRIBER_BACKEND: "echo" },
      kill: async (container) => void (await client.container.getById(container.id).kill()),
      exists: (container) => exists(container.id),
      labels: async (container) => (await client.container.getById(container.id).inspect()).Config.Labels,
      containerExists: exists,
      plantLeftovers: async () => {
        const ours = await plant(gatewayName);
        const theirs = await plant(`${gatewayName}-other`);
        const cleanup = async () => {
          for (const id of [ours, theirs])
            await client.container
              .getById(id)
              .remove({ force: true })
              .catch(() => undefined);
        };
        return { ours, theirs, cleanup };
      },
      teardown: async () => {
        await peer.close();
        await driver.sweep();
      },
    };
  };
}

for (const network of ["bridge", "host"] as const) {
  const gatewayName = `conf-${network}-${crypto.randomUUID().slice(0, 6)}`;
  driverConformance(
    `${engine?.name ?? "engine"} (${network})`,
    engine
      ? harness(engine, network, gatewayName)
      : async () => {
          throw new Error("unreachable");
        },
    { skipReason, requireEngine, expectedLabels: { [LABEL_MANAGED]: "true", [LABEL_GATEWAY]: gatewayName } },
  );
}

import { expect } from "bun:test";
import { engineTest } from "../test/engine.ts";

engineTest(
  "host networking serves over a Unix socket in its own directory, or over TCP only with socketParentDir null",
  async () => {
    await ensureImage();
    const client = await getContainerRuntimeClient();
    for (const socketParentDir of [`/tmp/te-sockets-${process.pid}`, null]) {
      const driver = new PodmanDriver({
        engine: engine!,
        gatewayName: `sock-${crypto.randomUUID().slice(0, 6)}`,
        network: "host",
        socketParentDir,
      });
      const container = await driver.start({ instanceId: "probe", env: { TRANSCRIBER_BACKEND: "echo" } });
      try {
        const mounts = (await client.container.getById(container.id).inspect()).Mounts ?? [];
        if (socketParentDir) {
          expect(container.socketPath?.startsWith(`${socketParentDir}/`)).toBe(true);
          expect(mounts.map((m) => m.Source).some((source) => source.startsWith(socketParentDir))).toBe(true);
          const viaSocket = await fetch("http://transcriber/health", { unix: container.socketPath! });
          expect(viaSocket.status).toBe(200);
        } else {
          expect(container.socketPath).toBeUndefined();
          expect(mounts).toEqual([]);
        }
        const health = await fetch(`http://${container.host}:${container.port}/health`);
        expect(health.status).toBe(200);
        // The image carries the build host's libopus (where installed), so the container decodes natively.
        expect(((await health.json()) as { opus: string }).opus).toMatch(EXPECTED_OPUS_BUILD);
        // The container reads the host's /proc/stat and boot id: its load report says how busy this machine is.
        await Bun.sleep(1_100);
        const { load } = (await (await fetch(`http://${container.host}:${container.port}/health`)).json()) as {
          load: { hostCpuBusy?: number; hostId?: string };
        };
        expect(load.hostId).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
        expect(load.hostCpuBusy).toBeGreaterThanOrEqual(0);
        expect(load.hostCpuBusy).toBeLessThanOrEqual(1);
      } finally {
        await driver.close();
      }
    }
  },
  60_000,
);

engineTest(
  "a localhost/ image that is not on the engine fails at once with ImageMissingError (as the cause), naming the image and how to build it",
  async () => {
    const image = `localhost/te-never-built-${crypto.randomUUID().slice(0, 8)}:none`;
    const driver = new PodmanDriver({ engine: engine!, gatewayName: `noimg-${crypto.randomUUID().slice(0, 6)}`, image });
    const t0 = performance.now();
    const error = await driver.start({ instanceId: "probe", env: { TRANSCRIBER_BACKEND: "echo" } }).then(
      () => undefined,
      (e: Error) => e,
    );
    await driver.close();
    expect(error?.cause).toBeInstanceOf(ImageMissingError);
    expect((error?.cause as ImageMissingError).image).toBe(image);
    expect(error?.message).toContain(`${image} is not on this engine (build it: npm run build:image)`);
    expect(performance.now() - t0).toBeLessThan(2000); // no pull attempted
  },
);
