/**
 * The Kubernetes deployment as typed objects (the @kubernetes/client-node model types, checked by tsc):
 * render.ts writes them to the YAML files beside this one, and manifests.test.ts checks that the committed
 * files equal the rendering and that reference/instance-pod.yaml is the pod the driver sends.
 */
import type {
  V1Deployment,
  V1EnvVar,
  V1Namespace,
  V1NetworkPolicy,
  V1Pod,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { LABEL_MANAGED } from "../../runtime/driver.ts";
import { DEFAULT_LIMITS } from "../../runtime/hardening.ts";
import { DEFAULT_GATEWAY_IMAGE, DEFAULT_TRANSCRIBER_IMAGE } from "../../runtime/image.ts";
import { instancePod, TRANSCRIBER_PORT } from "../../runtime/kubernetes/pod-spec.ts";
import { gatewayLabels, metadata, NAMESPACE, restrictedContainer } from "./common.ts";
import { redis, redisPolicy, redisService } from "./redis.ts";

export { NAMESPACE } from "./common.ts";

/** GATEWAY_NAME of the cluster: pod names and labels of its transcribers carry it. */
export const CLUSTER_NAME = "edge";
const SERVICE_ACCOUNT = "transcribe-edge-gateway";
/** The Secret the operator creates (README): the OpenAI key, and the admin token. */
export const SECRET_NAME = "transcribe-edge";
const GATEWAY_PORT = 8080;
/** Seconds the gateway keeps serving after it is told to stop, before the drain (see the Deployment's preStop). */
const PRESTOP_SLEEP_SECONDS = 5;
/** DRAIN_TIMEOUT: how long open sessions get to finish before they are closed with 1001. */
const DRAIN_SECONDS = 30;

const namespace: V1Namespace = {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name: NAMESPACE,
    // The namespace refuses any pod that is not restricted: the transcribers are built to pass.
    labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" },
  },
};

const serviceAccount: V1ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(SERVICE_ACCOUNT, gatewayLabels) };

/** Only what the driver calls: pods get, list, watch, create, delete in this namespace. */
export const role: V1Role = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: metadata(SERVICE_ACCOUNT, gatewayLabels),
  rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "delete"] }],
};

const roleBinding: V1RoleBinding = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: metadata(SERVICE_ACCOUNT, gatewayLabels),
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SERVICE_ACCOUNT },
  subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NAMESPACE }],
};

const fromSecret = (name: string, key: string, optional: boolean): V1EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: SECRET_NAME, key, optional } },
});
const fromField = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** The gateway's environment (the README's Configuration table); values a test can load as the gateway would. */
export const gatewayEnv: V1EnvVar[] = [
  { name: "CONTAINER_DRIVER", value: "kubernetes" },
  { name: "ROUTING_STORE", value: "redis" },
  { name: "REDIS_URL", value: `redis://transcribe-edge-redis.${NAMESPACE}.svc:6379/0` },
  { name: "GATEWAY_NAME", value: CLUSTER_NAME },
  fromField("GATEWAY_ID", "metadata.name"),
  fromField("KUBE_NAMESPACE", "metadata.namespace"),
  // Transcriber pods read the OpenAI key from the Secret themselves: it never appears in a pod spec.
  { name: "KUBE_TRANSCRIBER_SECRET", value: SECRET_NAME },
  { name: "ROUTING_MODE", value: "pool" },
  { name: "TRANSCRIBER_BACKEND", value: "openai" },
  { name: "TRANSCRIBER_IMAGE", value: DEFAULT_TRANSCRIBER_IMAGE },
  { name: "CONTAINER_MEMORY", value: "512m" },
  { name: "CONTAINER_CPUS", value: "1" },
  // Pods get requests = limits, so each has its CPU whatever else runs on its node: its own report (CPU against
  // its cap) says when it is full, and a node busy with other pods' work is no reason to refuse.
  { name: "HOST_CPU_MAX", value: "1" },
  { name: "DRAIN_TIMEOUT", value: `${DRAIN_SECONDS}s` },
  { name: "PORT", value: String(GATEWAY_PORT) },
  { name: "HOST", value: "0.0.0.0" },
  { name: "LOG_LEVEL", value: "info" },
  fromSecret("OPENAI_API_KEY", "openai-api-key", false),
  fromSecret("ADMIN_TOKEN", "admin-token", true),
];

export const gateway: V1Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: metadata("transcribe-edge-gateway", gatewayLabels),
  spec: {
    replicas: 3,
    selector: { matchLabels: gatewayLabels },
    // One new gateway before an old one goes: capacity never drops during an upgrade.
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: gatewayLabels },
      spec: {
        serviceAccountName: SERVICE_ACCOUNT,
        automountServiceAccountToken: true, // the driver's in-cluster credentials
        enableServiceLinks: false,
        // preStop, then the drain, then a margin before SIGKILL.
        terminationGracePeriodSeconds: PRESTOP_SLEEP_SECONDS + DRAIN_SECONDS + 10,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: gatewayLabels },
          },
        ],
        containers: [
          {
            name: "gateway",
            image: DEFAULT_GATEWAY_IMAGE,
            imagePullPolicy: "IfNotPresent",
            env: gatewayEnv,
            ports: [{ name: "http", containerPort: GATEWAY_PORT }],
            readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 2, failureThreshold: 2 },
            livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
            // The Service keeps sending new sessions for a moment after deletion starts: keep taking them
            // (the image has no shell, so the kubelet's own sleep action, Kubernetes 1.30+), then SIGTERM drains.
            lifecycle: { preStop: { sleep: { seconds: PRESTOP_SLEEP_SECONDS } } },
            resources: { requests: { cpu: "500m", memory: "256Mi" }, limits: { memory: "1Gi" } },
            securityContext: restrictedContainer,
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
          },
        ],
        volumes: [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } }],
      },
    },
  },
};

/** A voluntary disruption (node drain, cluster upgrade) takes one gateway at a time. */
const disruptionBudget: V1PodDisruptionBudget = {
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: metadata("transcribe-edge-gateway", gatewayLabels),
  spec: { maxUnavailable: 1, selector: { matchLabels: gatewayLabels } },
};

/** What clients connect to (ClusterIP; an Ingress or a LoadBalancer in front is the site's choice). */
const clientService: V1Service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: metadata("transcribe-edge", gatewayLabels),
  spec: { selector: gatewayLabels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
};

/** Transcriber pods take connections from the gateways only. */
const transcriberPolicy: V1NetworkPolicy = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: metadata("transcribe-edge-transcribers", { "app.kubernetes.io/name": "transcribe-edge" }),
  spec: {
    podSelector: { matchLabels: { [LABEL_MANAGED]: "true" } },
    policyTypes: ["Ingress"],
    ingress: [{ _from: [{ podSelector: { matchLabels: gatewayLabels } }], ports: [{ protocol: "TCP", port: TRANSCRIBER_PORT }] }],
  },
};

/**
 * A transcriber pod as the driver creates it for `pool-0` of this deployment: for review, and for admission
 * policies. Not applied: the gateways create these.
 */
export function referenceInstancePod(transcriberEnv: Record<string, string>): V1Pod {
  return instancePod({
    secretName: SECRET_NAME,
    gatewayName: CLUSTER_NAME,
    instanceId: "pool-0",
    image: DEFAULT_TRANSCRIBER_IMAGE,
    env: transcriberEnv,
    limits: DEFAULT_LIMITS,
  });
}

/** The files `kubectl apply -f deploy/kubernetes/` applies, in order, with their objects. */
export const MANIFEST_FILES: Array<{ file: string; objects: object[] }> = [
  { file: "00-namespace.yaml", objects: [namespace] },
  { file: "10-rbac.yaml", objects: [serviceAccount, role, roleBinding] },
  { file: "20-redis.yaml", objects: [redis, redisService] },
  { file: "30-gateway.yaml", objects: [gateway, disruptionBudget, clientService] },
  { file: "40-network-policy.yaml", objects: [transcriberPolicy, redisPolicy] },
];
