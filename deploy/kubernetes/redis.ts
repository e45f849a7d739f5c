/** Redis for the gateways' routing store: one pod, no persistence, reachable from the gateways only. */
import type { V1Deployment, V1NetworkPolicy, V1Service } from "@kubernetes/client-node";
import { gatewayLabels, metadata, redisLabels, restrictedContainer } from "./common.ts";

/** No persistence: the cluster rebuilds its state from pod labels and re-registration when Redis restarts empty. */
export const redis: V1Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: metadata("transcribe-edge-redis", redisLabels),
  spec: {
    replicas: 1,
    selector: { matchLabels: redisLabels },
    template: {
      metadata: { labels: redisLabels },
      spec: {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "redis",
            image: "redis:7.2",
            args: ["--save", "", "--appendonly", "no"],
            ports: [{ name: "redis", containerPort: 6379 }],
            readinessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 2 },
            livenessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 10 },
            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
            securityContext: restrictedContainer,
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
        ],
        volumes: [{ name: "data", emptyDir: { sizeLimit: "64Mi" } }],
      },
    },
  },
};

export const redisService: V1Service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: metadata("transcribe-edge-redis", redisLabels),
  spec: { selector: redisLabels, ports: [{ name: "redis", port: 6379, targetPort: "redis" }] },
};

/** Redis takes connections from the gateways only. */
export const redisPolicy: V1NetworkPolicy = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: metadata("transcribe-edge-redis", redisLabels),
  spec: {
    podSelector: { matchLabels: redisLabels },
    policyTypes: ["Ingress"],
    ingress: [{ _from: [{ podSelector: { matchLabels: gatewayLabels } }], ports: [{ protocol: "TCP", port: 6379 }] }],
  },
};
