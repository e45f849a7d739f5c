/**
 * The Kubernetes manifests: the committed YAML is the rendering of manifests.ts; the gateway Deployment's
 * environment is a configuration the gateway accepts; reference/instance-pod.yaml is exactly the pod the
 * driver sends for that configuration; the Role's verbs are enough for everything the driver does; the smoke
 * script parses (and passes shellcheck where it is installed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { containerLimits, kubernetesSettings } from "../../app/config.ts";
import { transcriberEnv } from "../../app/gateway.ts";
import { KubernetesDriver } from "../../runtime/kubernetes/driver.ts";
import { fakeClient } from "../../runtime/kubernetes/test-harness.ts";
import { type KubeFake, startKubeFake } from "../../test/kube-fake/index.ts";
import { gatewayConfigFromManifest, SECRET_PLACEHOLDER } from "./gateway-config.ts";
import { CLUSTER_NAME, NAMESPACE, role, SECRET_NAME } from "./manifests.ts";
import { renderAll } from "./render.ts";

const HERE = import.meta.dir;
const ROOT = join(HERE, "..", "..");
let fake: KubeFake;
beforeAll(async () => {
  fake = await startKubeFake({ namespace: NAMESPACE });
});
afterAll(() => fake.close());

describe("deploy/kubernetes", () => {
  test("every committed file equals its rendering from manifests.ts (bun deploy/kubernetes/render.ts)", () => {
    for (const { file, text } of renderAll()) expect({ file, text: readFileSync(join(HERE, file), "utf8") }).toEqual({ file, text });
  });

  test("every rendered object names its kind and a namespaced name, in the API's field names (`from`, not the types' `_from`)", () => {
    for (const { file, text } of renderAll()) {
      expect(text).not.toContain("_from");
      const documents = Bun.YAML.parse(text);
      for (const object of Array.isArray(documents) ? documents : [documents]) {
        expect({ file, apiVersion: typeof object.apiVersion, kind: typeof object.kind, name: typeof object.metadata?.name }).toEqual({
          file,
          apiVersion: "string",
          kind: "string",
          name: "string",
        });
        if (object.kind !== "Namespace" && file !== "reference/instance-pod.yaml") expect(object.metadata.namespace).toBe(NAMESPACE);
      }
    }
  });

  test("the gateway Deployment's environment is a configuration the gateway accepts: kubernetes driver, Redis store", () => {
    const config = gatewayConfigFromManifest();
    expect(config).toMatchObject({
      containerDriver: "kubernetes",
      routingStore: "redis",
      gatewayName: CLUSTER_NAME,
      kubeNamespace: NAMESPACE,
    });
    expect(kubernetesSettings(config)).toEqual({ namespace: NAMESPACE, kubeconfig: undefined, transcriberSecret: SECRET_NAME });
  });

  test("reference/instance-pod.yaml is the pod the driver creates for pool-0 of that configuration, byte for byte as an object", async () => {
    const config = gatewayConfigFromManifest();
    const driver = new KubernetesDriver({
      client: fakeClient(fake),
      gatewayName: config.gatewayName,
      image: config.transcriberImage,
      limits: containerLimits(config),
      secretName: config.kubeTranscriberSecret,
      startupTimeoutMs: 20_000,
    });
    fake.secrets.set(SECRET_NAME, { "openai-api-key": "sk-from-the-secret" });
    // The fake runs transcriber/main.ts whatever the pod says; the echo backend lets it start with no key.
    const before = fake.requests.length;
    await driver.start({ instanceId: "pool-0", env: transcriberEnv(config) });
    await driver.close();
    const sent = fake.requests.slice(before).find((request) => request.method === "POST")?.body;
    const committed = Bun.YAML.parse(readFileSync(join(HERE, "reference", "instance-pod.yaml"), "utf8"));
    expect(sent).toEqual(committed);
    // The key is a reference to the Secret, never its value: reading pods does not reveal it.
    expect(JSON.stringify(sent)).not.toContain(SECRET_PLACEHOLDER);
    expect(JSON.stringify(sent)).toContain('"secretKeyRef":{"name":"transcribe-edge","key":"openai-api-key"}');
  });

  test("the Role's verbs (pods get/list/watch/create/delete, nothing else) are all the driver needs", async () => {
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "delete"] }]);
    const token = `role-${crypto.randomUUID()}`;
    fake.tokens.set(token, { user: "system:serviceaccount:transcribe-edge:transcribe-edge-gateway", verbs: role.rules![0]!.verbs as any });
    const driver = new KubernetesDriver({
      client: fakeClient(fake, "token", token),
      gatewayName: "role",
      image: "te:role",
      startupTimeoutMs: 20_000,
    });
    const container = await driver.start({ instanceId: "pool-0", env: { TRANSCRIBER_BACKEND: "echo" } });
    expect((await driver.list()).map((info) => info.instanceId)).toEqual(["pool-0"]);
    await driver.stop(container);
    expect(await driver.sweep()).toBe(0);
    await driver.close();
  });

  test("scripts/kube-smoke.sh parses (bash -n), and passes shellcheck when it is installed", () => {
    const script = join(ROOT, "scripts", "kube-smoke.sh");
    const parsed = Bun.spawnSync(["bash", "-n", script], { stderr: "pipe" });
    expect(parsed.stderr.toString()).toBe("");
    expect(parsed.exitCode).toBe(0);
    if (!Bun.which("shellcheck")) return console.log("shellcheck not installed here: only bash -n ran");
    const checked = Bun.spawnSync(["shellcheck", script], { stdout: "pipe" });
    expect(checked.stdout.toString()).toBe("");
  });
});
