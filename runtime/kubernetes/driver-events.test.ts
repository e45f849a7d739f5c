/** The Kubernetes driver against the API fake: the cluster's single-flight (409 join), pod failures, API refusals. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { pollUntil } from "../../test/wait.ts";
import { DEFAULT_LIMITS } from "../hardening.ts";
import { KubeClient } from "./client.ts";
import { KubernetesDriver } from "./driver.ts";
import { kubeconfigCredentials } from "./kubeconfig.ts";
import { instancePod } from "./pod-spec.ts";
import { FAKE_IMAGE, fakeClient, fakeDriver, splitId } from "./test-harness.ts";

const env = { TRANSCRIBER_BACKEND: "echo" };
let fake: KubeFake;
const drivers: KubernetesDriver[] = [];
const driver = (gatewayName: string, client?: KubeClient) => {
  const made = client
    ? new KubernetesDriver({ client, gatewayName, image: FAKE_IMAGE, startupTimeoutMs: 20_000 })
    : fakeDriver(fake, gatewayName);
  drivers.push(made);
  return made;
};
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  fake = await startKubeFake();
});
afterAll(async () => {
  for (const made of drivers) await made.close();
  await fake.close();
});

describe("single-flight across gateways", () => {
  test("two gateways starting one instance at once make one pod: the second create is 409 and joins it", async () => {
    const cluster = unique("join");
    const [a, b] = [driver(cluster), driver(cluster)];
    const before = fake.requests.length;
    const [one, two] = await Promise.all([a.start({ instanceId: "pool-0", env }), b.start({ instanceId: "pool-0", env })]);
    expect(one.id).toBe(two.id);
    expect([one.host, one.port]).toEqual([two.host, two.port]);
    const creates = fake.requests.slice(before).filter((request) => request.method === "POST");
    expect(creates.length).toBe(2);
    expect(fake.store.list(fake.namespace, `io.transcribe-edge.gateway=${cluster}`).length).toBe(1);
    expect((await fetch(`http://${one.host}:${one.port}/health`)).status).toBe(200);
    await a.stop(one);
    // The joined handle hears the pod go like any other end.
    expect((await two.exited).reason).toContain("deleted");
  });

  test("a finished pod left under the name is deleted and created again", async () => {
    const cluster = unique("left");
    const client = fakeClient(fake);
    const pod = instancePod({ gatewayName: cluster, instanceId: "pool-1", image: FAKE_IMAGE, env, limits: DEFAULT_LIMITS });
    const leftover = await client.createPod(pod);
    await pollUntil(() => fake.pod(pod.metadata!.name!)?.status?.phase === "Running", "the leftover running", 10_000);
    fake.kill(pod.metadata!.name!);
    await pollUntil(() => fake.pod(pod.metadata!.name!)?.status?.phase === "Failed", "the leftover failed", 10_000);
    const started = await driver(cluster).start({ instanceId: "pool-1", env });
    expect(splitId(started.id).uid).not.toBe(leftover.metadata!.uid);
    expect(fake.pod(pod.metadata!.name!)?.status?.phase).toBe("Running");
  });
});

describe("a pod that ends on its own resolves exited with the reason", () => {
  test("kubelet eviction (Failed, Evicted); the driver then deletes the failed pod so the name is free", async () => {
    const d = driver(unique("evict"));
    const container = await d.start({ instanceId: "pool-0", env });
    const { name, uid } = splitId(container.id);
    await fake.evict(name);
    const info = await container.exited;
    expect(info.reason).toContain("Evicted");
    expect(info.reason).toContain("low on resource");
    await pollUntil(() => fake.pod(name)?.metadata?.uid !== uid, "the failed pod deleted", 10_000);
  });

  test("node lost (Ready False, NodeLost)", async () => {
    const d = driver(unique("node"));
    const container = await d.start({ instanceId: "pool-0", env });
    const { name, uid } = splitId(container.id);
    fake.loseNode(name);
    expect((await container.exited).reason).toContain("NodeLost");
    // The driver deletes it: a pod on a lost node is not coming back as this instance.
    await pollUntil(() => fake.pod(name)?.metadata?.uid !== uid, "the lost pod deleted", 10_000);
  });

  test("deleted by someone else (kubectl delete)", async () => {
    const d = driver(unique("kubectl"));
    const container = await d.start({ instanceId: "pool-0", env });
    await fakeClient(fake).deletePod(splitId(container.id).name);
    expect((await container.exited).reason).toContain("being deleted");
  });
});

describe("a pod that cannot start fails its start at once, with the kubelet's reason", () => {
  test("KUBE_TRANSCRIBER_SECRET names a Secret that is not there: CreateContainerConfigError, and the pod is deleted", async () => {
    const d = new KubernetesDriver({
      client: fakeClient(fake),
      gatewayName: unique("nosecret"),
      image: FAKE_IMAGE,
      secretName: "missing-secret",
    });
    drivers.push(d);
    const t0 = performance.now();
    const message = await d.start({ instanceId: "pool-0", env: { ...env, OPENAI_API_KEY: "sk-x" } }).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(message).toContain('cannot start: CreateContainerConfigError (secret "missing-secret" not found)');
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(await d.list()).toEqual([]);
  });

  test("with the Secret there, the pod's transcriber gets the key from it (the spec carries only the reference)", async () => {
    fake.secrets.set("te-keys", { "openai-api-key": "sk-from-secret" });
    const d = new KubernetesDriver({ client: fakeClient(fake), gatewayName: unique("secret"), image: FAKE_IMAGE, secretName: "te-keys" });
    drivers.push(d);
    const container = await d.start({ instanceId: "pool-0", env: { ...env, OPENAI_API_KEY: "sk-from-gateway" } });
    const spec = JSON.stringify(fake.pod(splitId(container.id).name)?.spec);
    expect(spec).not.toContain("sk-from-gateway");
    expect(spec).toContain('"secretKeyRef":{"name":"te-keys","key":"openai-api-key"}');
  });
});

test("close() while a start waits for Ready: the start fails at once (not after its timeout) and its pod is deleted", async () => {
  const slow = await startKubeFake({ scheduleDelayMs: 10_000 });
  try {
    const d = fakeDriver(slow, unique("closing"));
    const starting = d.start({ instanceId: "pool-0", env }).then(
      () => "",
      (e: Error) => e.message,
    );
    await pollUntil(() => slow.store.list(slow.namespace, null).length === 1, "the pod created");
    const t0 = performance.now();
    await d.close();
    expect(await starting).toContain("the driver's pod watch was closed");
    expect(performance.now() - t0).toBeLessThan(3_000);
    await pollUntil(() => slow.store.list(slow.namespace, null).length === 0, "the pod deleted", 5_000);
  } finally {
    await slow.close();
  }
});

describe("the API refusing: clear errors", () => {
  test("an unknown token: start fails with the 401 and what to check", async () => {
    const bad = new KubeClient(kubeconfigCredentials(fake.writeKubeconfig("token", "not-a-token")), fake.namespace);
    const error = await driver(unique("401"), bad)
      .start({ instanceId: "pool-0", env })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("401 Unauthorized: Unauthorized");
    expect((error as Error).message).toContain("check KUBECONFIG's user or the service-account token");
  });

  test("a service account without create: start fails with the API's 403 message and the Role to apply", async () => {
    fake.tokens.set("read-only", { user: "system:serviceaccount:transcribe-edge:viewer", verbs: ["get", "list", "watch"] });
    const viewer = new KubeClient(kubeconfigCredentials(fake.writeKubeconfig("token", "read-only")), fake.namespace);
    const message = await driver(unique("403"), viewer)
      .start({ instanceId: "pool-0", env })
      .then(
        () => "",
        (e: Error) => e.message,
      );
    expect(message).toContain(
      `403 Forbidden: pods is forbidden: User "system:serviceaccount:transcribe-edge:viewer" cannot create resource "pods" in API group "" in the namespace "${fake.namespace}"`,
    );
    expect(message).toContain("deploy/kubernetes/");
  });

  test("engineProblem: undefined while the API server answers, one line naming it when it does not", async () => {
    const other = await startKubeFake();
    const d = driver(unique("engine"), fakeClient(other));
    expect(await d.engineProblem()).toBeUndefined();
    await other.close();
    const problem = await d.engineProblem();
    expect(problem).toStartWith(`Kubernetes API not answering at ${other.url}`);
  });
});
