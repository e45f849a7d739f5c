import { LABEL_GATEWAY, LABEL_MANAGED } from "../driver.ts";
import { driverConformance, type ConformanceHarness } from "../driver-conformance.ts";
import { startKubeFake } from "../../test/kube-fake/index.ts";
import { instancePod } from "./pod-spec.ts";
import { DEFAULT_LIMITS } from "../hardening.ts";
import { FAKE_IMAGE, fakeClient, fakeDriver, splitId } from "./test-harness.ts";

const gatewayName = `conf-kube-${crypto.randomUUID().slice(0, 6)}`;

driverConformance(
  "kubernetes (API fake)",
  async (): Promise<ConformanceHarness> => {
    const fake = await startKubeFake();
    const driver = fakeDriver(fake, gatewayName);
    const peer = fakeDriver(fake, gatewayName);
    const client = fakeClient(fake);
    const alive = (id: string) => {
      const { name, uid } = splitId(id);
      return fake.pod(name)?.metadata?.uid === uid;
    };
    const plant = async (gateway: string, instanceId: string) => {
      const pod = instancePod({
        gatewayName: gateway,
        instanceId,
        image: FAKE_IMAGE,
        env: { TRANSCRIBER_BACKEND: "echo" },
        limits: DEFAULT_LIMITS,
      });
      const created = await client.createPod(pod);
      return `${created.metadata!.name}/${created.metadata!.uid}`;
    };
    return {
      driver,
      peer,
      env: { TRANSCRIBER_BACKEND: "echo" },
      kill: async (container) => fake.kill(splitId(container.id).name),
      exists: async (container) => alive(container.id),
      labels: async (container) => fake.pod(splitId(container.id).name)?.metadata?.labels ?? {},
      containerExists: async (id) => alive(id),
      plantLeftovers: async () => {
        const ours = await plant(gatewayName, "leftover");
        const theirs = await plant(`${gatewayName}-other`, "leftover");
        const cleanup = async () => {
          for (const id of [ours, theirs]) await client.deletePod(splitId(id).name).catch(() => undefined);
        };
        return { ours, theirs, cleanup };
      },
      teardown: async () => {
        await peer.close();
        await driver.sweep();
        await fake.close();
      },
    };
  },
  { expectedLabels: { [LABEL_MANAGED]: "true", [LABEL_GATEWAY]: gatewayName } },
);
