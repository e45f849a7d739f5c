/** What the manifests share: the namespace, the labels that select each part, the restricted container profile. */

export const NAMESPACE = "transcribe-edge";

export const gatewayLabels = { "app.kubernetes.io/name": "transcribe-edge", "app.kubernetes.io/component": "gateway" };
export const redisLabels = { "app.kubernetes.io/name": "transcribe-edge", "app.kubernetes.io/component": "redis" };

export const metadata = (name: string, labels: Record<string, string> = {}) => ({ name, namespace: NAMESPACE, labels: { ...labels } });

/** The restricted Pod Security profile's container half, shared by the gateway and Redis. */
export const restrictedContainer = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};
