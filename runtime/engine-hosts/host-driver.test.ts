import { afterAll, expect } from "bun:test";
import Docker from "dockerode";
import { engineTest } from "../../test/engine.ts";
import { startTlsEngine, type TlsEngine } from "../../test/tls-terminator.ts";
import { driverConformance, type ConformanceHarness } from "../driver-conformance.ts";
import { LABEL_GATEWAY, LABEL_MANAGED } from "../driver.ts";
import { findEngine } from "../engine.ts";
import { ensureImage } from "../image-build.ts";
import { transcriberImage } from "../image.ts";
import type { ContainerNetwork } from "../podman-driver.ts";
import { engineClient } from "./client.ts";
import { type EngineHostSpec, parseEngineHosts } from "./config.ts";
import { HostDriver } from "./host-driver.ts";

const engine = await findEngine(process.env, 1_000);
const unixEngine = engine?.dockerHost.startsWith("unix://") ? engine : undefined;
const skipReason = unixEngine ? undefined : "no container engine answered on a Unix socket (start one with scripts/engine-setup.sh)";
const requireEngine = process.env.REQUIRE_ENGINE === "1";

let tls: TlsEngine | undefined;
afterAll(async () => {
  await tls?.close();
});

/** The one host ENGINE_HOSTS names, parsed as the gateway would. */
function hostSpec(endpoint: string, tlsDir?: string): EngineHostSpec {
  return parseEngineHosts({ ENGINE_HOSTS: `conf@${endpoint}`, ...(tlsDir ? { ENGINE_TLS_DIR: tlsDir } : {}) })![0]!;
}

function harness(spec: () => Promise<EngineHostSpec>, network: ContainerNetwork, gatewayName: string) {
  return async (): Promise<ConformanceHarness> => {
    await ensureImage({ log: (line) => console.log(line) });
    const host = await spec();
    const driver = new HostDriver({ host, gatewayName, network });
    const peer = new HostDriver({ host, gatewayName, network });
    const client = engineClient(host);
    const exists = (id: string) =>
      client
        .getContainer(id)
        .inspect()
        .then(
          () => true,
          () => false,
        );
    const plant = async (gateway: string) => {
      const container = await client.createContainer({
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
      kill: async (container) => void (await client.getContainer(container.id).kill()),
      exists: (container) => exists(container.id),
      labels: async (container) => (await client.getContainer(container.id).inspect()).Config.Labels,
      containerExists: exists,
      plantLeftovers: async () => {
        const ours = await plant(gatewayName);
        const theirs = await plant(`${gatewayName}-other`);
        const cleanup = async () => {
          for (const id of [ours, theirs])
            await client
              .getContainer(id)
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

const kinds: Array<{ label: string; network: ContainerNetwork; spec: () => Promise<EngineHostSpec> }> = [
  { label: "engine host over a Unix socket (bridge)", network: "bridge", spec: async () => hostSpec(unixEngine!.dockerHost) },
  { label: "engine host over a Unix socket (host)", network: "host", spec: async () => hostSpec(unixEngine!.dockerHost) },
  {
    label: "engine host over TCP with TLS client certificates (host)",
    network: "host",
    spec: async () => {
      tls ??= await startTlsEngine(unixEngine!.dockerHost.slice("unix://".length));
      return hostSpec(tls.endpoint, tls.tlsDir);
    },
  },
];

for (const kind of kinds) {
  const gatewayName = `hconf-${kind.network}-${crypto.randomUUID().slice(0, 6)}`;
  driverConformance(
    kind.label,
    unixEngine
      ? harness(kind.spec, kind.network, gatewayName)
      : async () => {
          throw new Error("unreachable");
        },
    { skipReason, requireEngine, expectedLabels: { [LABEL_MANAGED]: "true", [LABEL_GATEWAY]: gatewayName } },
  );
}

engineTest("the TLS engine endpoint refuses a client without the certificates, and answers one with them", async () => {
  tls ??= await startTlsEngine(unixEngine!.dockerHost.slice("unix://".length));
  const [host, port] = tls.endpoint.slice("tcp://".length).split(":");
  const refusedBefore = tls.refusedHandshakes();
  const bare = new Docker({ protocol: "https", host, port: Number(port), ca: await Bun.file(`${tls.tlsDir}/ca.pem`).text() });
  const error = await bare.ping().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(tls.refusedHandshakes()).toBeGreaterThan(refusedBefore);
  const driver = new HostDriver({ host: hostSpec(tls.endpoint, tls.tlsDir) });
  expect(await driver.engineProblem()).toBeUndefined();
});

engineTest("a host without the image: hasImage() is false and start() fails at once with ImageMissingError naming the image", async () => {
  const image = `localhost/te-never-built-${crypto.randomUUID().slice(0, 8)}:none`;
  const driver = new HostDriver({
    host: hostSpec(unixEngine!.dockerHost),
    image,
    gatewayName: `hnoimg-${crypto.randomUUID().slice(0, 6)}`,
  });
  expect(await driver.hasImage()).toBe(false);
  const t0 = performance.now();
  const error = await driver.start({ instanceId: "probe", env: { TRANSCRIBER_BACKEND: "echo" } }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error?.message).toContain(`${image} is not on this engine`);
  expect(error?.message).toContain("engine host conf");
  expect(performance.now() - t0).toBeLessThan(2000);
  await driver.close();
});

engineTest(
  "a container is confined as the Podman driver's: no capability, read-only root, both ulimits, StopTimeout, the spec's labels",
  async () => {
    const host = hostSpec(unixEngine!.dockerHost);
    const driver = new HostDriver({ host, gatewayName: `hcfg-${crypto.randomUUID().slice(0, 6)}`, network: "host" });
    const container = await driver.start({
      instanceId: "probe",
      env: { TRANSCRIBER_BACKEND: "echo" },
      labels: { "io.transcribe-edge.fence": "3" },
    });
    try {
      const inspected = await engineClient(host).getContainer(container.id).inspect();
      expect((inspected as { EffectiveCaps?: string[] }).EffectiveCaps ?? []).toEqual([]);
      expect(inspected.HostConfig.SecurityOpt).toContain("no-new-privileges");
      expect(inspected.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspected.HostConfig.NetworkMode).toBe("host");
      const ulimits = Object.fromEntries(
        (inspected.HostConfig.Ulimits ?? []).map((u) => [(u.Name ?? "").replace(/^RLIMIT_/, "").toLowerCase(), u.Hard]),
      );
      expect(ulimits).toMatchObject({ nofile: 16384, nproc: 8192 });
      expect((inspected.Config as { StopTimeout?: number }).StopTimeout).toBe(10);
      expect(inspected.Config.User).toBe("65532:65532");
      expect(inspected.Config.Labels["io.transcribe-edge.fence"]).toBe("3");
      expect(container.hostName).toBe("conf");
    } finally {
      await driver.close();
    }
  },
);
