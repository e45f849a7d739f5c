/** Test wiring: a Kubernetes driver (and its client) pointed at a running API fake through a kubeconfig. */
import type { KubeFake } from "../../test/kube-fake/index.ts";
import { KubeClient } from "./client.ts";
import { KubernetesDriver, type KubernetesDriverOptions } from "./driver.ts";
import { kubeconfigCredentials } from "./kubeconfig.ts";

/** The image named in fake pods: the fake runs transcriber/main.ts whatever the image says. */
export const FAKE_IMAGE = "localhost/transcribe-edge-transcriber:kube-fake";

export function fakeClient(fake: KubeFake, form: Parameters<KubeFake["writeKubeconfig"]>[0] = "token", token?: string): KubeClient {
  return new KubeClient(kubeconfigCredentials(fake.writeKubeconfig(form, token)), fake.namespace);
}

export function fakeDriver(fake: KubeFake, gatewayName: string, options: Partial<KubernetesDriverOptions> = {}): KubernetesDriver {
  return new KubernetesDriver({ client: fakeClient(fake), gatewayName, image: FAKE_IMAGE, startupTimeoutMs: 20_000, ...options });
}

/** The pod name and uid inside a Kubernetes driver's container id. */
export function splitId(id: string): { name: string; uid: string } {
  const [name = "", uid = ""] = id.split("/");
  return { name, uid };
}
