/** CONTAINER_DRIVER=kubernetes: credentials (KUBECONFIG or in-cluster), the namespace, and the driver over them. */
import type { ContainerLimits } from "../hardening.ts";
import type { RuntimeLogger } from "../logger.ts";
import { KubeClient } from "./client.ts";
import { loadCredentials, SERVICE_ACCOUNT_DIR } from "./credentials.ts";
import { KubernetesDriver } from "./driver.ts";

export { KubernetesDriver } from "./driver.ts";

export interface KubernetesDriverSettings {
  /** KUBE_NAMESPACE; undefined: the kubeconfig context's namespace, or the pod's own in a cluster. */
  namespace?: string;
  /** KUBECONFIG; undefined: in-cluster credentials. */
  kubeconfig?: string;
  /** KUBE_TRANSCRIBER_SECRET: the Secret pods take their secret variables from. */
  transcriberSecret?: string;
  /** Where the service account is mounted (tests stand in for the kubelet's mount). */
  serviceAccountDir?: string;
  /** Where KUBERNETES_SERVICE_HOST/PORT are read for in-cluster credentials. */
  env?: Record<string, string | undefined>;
}

/** Reads the credentials (throwing one line naming the file or field on a problem) and makes the driver. */
export function createKubernetesDriver(
  settings: KubernetesDriverSettings,
  options: { gatewayName?: string; image: string; limits?: ContainerLimits; logger?: RuntimeLogger },
): KubernetesDriver {
  const env = { ...(settings.env ?? process.env), KUBECONFIG: settings.kubeconfig };
  const credentials = loadCredentials(env, settings.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  const client = new KubeClient(credentials, settings.namespace ?? credentials.namespace);
  return new KubernetesDriver({ client, secretName: settings.transcriberSecret, ...options });
}
