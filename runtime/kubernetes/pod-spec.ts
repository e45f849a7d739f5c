/**
 * The pod an instance runs as: its deterministic name, its labels, and a spec under the restricted Pod Security
 * profile. deploy/kubernetes/ renders the same object (deploy/kubernetes/instance-pod.yaml) so an operator, or
 * an admission policy, can review exactly what the driver creates.
 */
import { createHash } from "node:crypto";
import type { V1Pod } from "@kubernetes/client-node";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED } from "../driver.ts";
import type { ContainerLimits } from "../hardening.ts";

/** The transcriber's port inside its pod (each pod has its own IP, so every pod uses the same one). */
export const TRANSCRIBER_PORT = 8080;

/** The name of the pod's one container and of its port. */
export const TRANSCRIBER_CONTAINER = "transcriber";
export const TRANSCRIBER_PORT_NAME = "http";

/** The image's numeric non-root user (Containerfile), as runtime/hardening.ts's CONTAINER_USER. */
const USER_ID = 65532;

/**
 * Seconds between SIGTERM and SIGKILL when the pod is deleted: the transcriber's own drain finishes within 5 s
 * (transcriber/main.ts), as with ENGINE_STOP_TIMEOUT_SECONDS under Podman.
 */
export const POD_GRACE_SECONDS = 10;

/** Longest pod name kept as is: a DNS-1123 label (pods are also hostnames), not the 253 of a subdomain. */
const MAX_NAME = 63;

/**
 * `te-<gateway>-<instance>`, the same in every gateway of the cluster (the API server's name uniqueness is then
 * the cross-gateway single-flight). Anything a DNS-1123 label cannot hold is replaced, and then, or when it is
 * too long, a hash of the exact pair is appended so two ids never map to one name.
 */
export function podName(gatewayName: string, instanceId: string): string {
  const plain = `te-${gatewayName}-${instanceId}`;
  const safe = plain
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+$/, "");
  if (safe === plain && safe.length <= MAX_NAME) return safe;
  const hash = createHash("sha256").update(`${gatewayName}\0${instanceId}`).digest("hex").slice(0, 10);
  return `${safe.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** The label selector of one cluster's pods: what the driver lists, watches and sweeps. */
export function clusterSelector(gatewayName: string): string {
  return `${LABEL_MANAGED}=true,${LABEL_GATEWAY}=${gatewayName}`;
}

/**
 * The transcriber variables that are secrets, and the key each has in KUBE_TRANSCRIBER_SECRET: with that
 * Secret named, the pod refers to it (the kubelet resolves it) instead of carrying the value in its spec,
 * which anyone allowed to read pods could see.
 */
export const SECRET_KEYS: Readonly<Record<string, string>> = { OPENAI_API_KEY: "openai-api-key" };

export interface InstancePodOptions {
  gatewayName: string;
  instanceId: string;
  image: string;
  /** The transcriber's environment, already through transcriber/env.ts's allowlist; PORT is set here. */
  env: Record<string, string>;
  /** More labels (the cluster's LABEL_REPLICA, LABEL_FENCE). */
  labels?: Record<string, string>;
  limits: ContainerLimits;
  /** KUBE_TRANSCRIBER_SECRET: the Secret SECRET_KEYS refer to; undefined: values go into the spec. */
  secretName?: string;
}

/** Kubernetes quantities: bytes as Mi when whole (readable in kubectl), else plain bytes; CPUs as millicores. */
export function memoryQuantity(bytes: number): string {
  return bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2}Mi` : String(bytes);
}
export function cpuQuantity(cpus: number): string {
  return `${Math.max(1, Math.round(cpus * 1000))}m`;
}

/**
 * The pod of one instance. Requests equal limits (Guaranteed QoS: the last class the kubelet evicts under
 * node pressure). restartPolicy Never: a transcriber that dies loses its sessions' state anyway, so the
 * instance fails, its sessions get 1012 and the next session starts a fresh pod, as with Podman.
 */
export function instancePod(options: InstancePodOptions): V1Pod {
  const resources = { memory: memoryQuantity(options.limits.memoryBytes), cpu: cpuQuantity(options.limits.cpus) };
  const env = { ...options.env, PORT: String(TRANSCRIBER_PORT), HOST: "0.0.0.0" };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName(options.gatewayName, options.instanceId),
      labels: {
        ...options.labels,
        [LABEL_MANAGED]: "true",
        [LABEL_GATEWAY]: options.gatewayName,
        [LABEL_INSTANCE]: options.instanceId,
        "app.kubernetes.io/name": "transcribe-edge",
        "app.kubernetes.io/component": "transcriber",
      },
    },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      // Service links would put every Service's address into the environment: the allowlist is the whole of it.
      enableServiceLinks: false,
      terminationGracePeriodSeconds: POD_GRACE_SECONDS,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: USER_ID,
        runAsGroup: USER_ID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: TRANSCRIBER_CONTAINER,
          image: options.image,
          imagePullPolicy: "IfNotPresent",
          env: Object.entries(env)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) =>
              options.secretName && SECRET_KEYS[name]
                ? { name, valueFrom: { secretKeyRef: { name: options.secretName, key: SECRET_KEYS[name] } } }
                : { name, value },
            ),
          ports: [{ name: TRANSCRIBER_PORT_NAME, containerPort: TRANSCRIBER_PORT, protocol: "TCP" }],
          // Probed each second: Ready is what ends a cold start, so a 10 s default period would be its floor.
          readinessProbe: {
            httpGet: { path: "/health", port: TRANSCRIBER_PORT_NAME },
            periodSeconds: 1,
            timeoutSeconds: 1,
            failureThreshold: 3,
          },
          resources: { requests: resources, limits: resources },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
          },
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        },
      ],
      // Scratch space as runtime/hardening.ts's tmpfs: in memory, bounded.
      volumes: [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } }],
    },
  };
}
