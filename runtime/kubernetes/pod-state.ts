/** What a pod's status means for an instance: ready with an endpoint, still coming, or over (and why). */
import type { V1Pod } from "@kubernetes/client-node";
import type { ContainerEndpoint, ContainerInfo, ExitInfo } from "../driver.ts";
import { LABEL_INSTANCE } from "../driver.ts";
import { podId, uidOf } from "./pod-id.ts";
import { TRANSCRIBER_CONTAINER, TRANSCRIBER_PORT, TRANSCRIBER_PORT_NAME } from "./pod-spec.ts";

/**
 * Ready False for these reasons is the container's own readiness (a slow probe), not a lost pod: its sessions go
 * on. Any other reason (NodeLost, NodeNotReady: the node controller's marks) ends the instance.
 */
const TRANSIENT_NOT_READY = new Set(["ContainersNotReady", "ReadinessGatesNotReady"]);

function condition(pod: V1Pod, type: string) {
  return pod.status?.conditions?.find((candidate) => candidate.type === type);
}

/** Ready condition True and an IP: sessions can be sent to it. */
export function podReady(pod: V1Pod): boolean {
  return condition(pod, "Ready")?.status === "True" && Boolean(pod.status?.podIP);
}

/**
 * The pod's IP and the port its transcriber container declares (TRANSCRIBER_PORT unless the pod says else). An
 * IPv6 pod IP is bracketed, as the gateway joins host and port into URLs and `host:port` strings.
 */
export function podEndpoint(pod: V1Pod): ContainerEndpoint | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  const container = pod.spec?.containers.find((candidate) => candidate.name === TRANSCRIBER_CONTAINER);
  const port = container?.ports?.find((candidate) => candidate.name === TRANSCRIBER_PORT_NAME)?.containerPort ?? TRANSCRIBER_PORT;
  return { host: ip.includes(":") ? `[${ip}]` : ip, port };
}

/**
 * Container waiting reasons a start should not sit out: the image cannot be had, or the pod's own spec cannot
 * be satisfied (a missing Secret). The instance's start fails at once and is retried with its backoff.
 */
const STUCK_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"]);

/** Why a pod that has not started cannot start by itself, or undefined. */
export function podStuck(pod: V1Pod): ExitInfo | undefined {
  const waiting = pod.status?.containerStatuses?.find((status) => status.name === TRANSCRIBER_CONTAINER)?.state?.waiting;
  if (!waiting?.reason || !STUCK_REASONS.has(waiting.reason)) return undefined;
  return {
    exitCode: null,
    reason: `pod ${pod.metadata?.name} cannot start: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`,
  };
}

/**
 * Why the pod is over for its instance, or undefined while it may still serve: failed or completed (evicted
 * by the kubelet, container exited), marked for disruption (eviction API, taint manager), being deleted, or
 * not Ready for a reason beyond its container (its node lost).
 */
export function podEnded(pod: V1Pod): ExitInfo | undefined {
  const name = pod.metadata?.name ?? "pod";
  const terminated = pod.status?.containerStatuses?.find((status) => status.name === TRANSCRIBER_CONTAINER)?.state?.terminated;
  const exitCode = terminated?.exitCode ?? null;
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") {
    const why = [pod.status?.reason, pod.status?.message ?? terminated?.reason].filter(Boolean).join(": ");
    return {
      exitCode,
      reason: `pod ${name} ${phase.toLowerCase()}${why ? ` (${why})` : exitCode !== null ? ` (exit code ${exitCode})` : ""}`,
    };
  }
  if (terminated)
    return { exitCode, reason: `pod ${name}: transcriber exited with code ${exitCode} (${terminated.reason ?? "terminated"})` };
  const disruption = condition(pod, "DisruptionTarget");
  if (disruption?.status === "True") {
    return { exitCode: null, reason: `pod ${name} disrupted (${disruption.reason ?? "DisruptionTarget"}: ${disruption.message ?? ""})` };
  }
  if (pod.metadata?.deletionTimestamp) return { exitCode: null, reason: `pod ${name} is being deleted` };
  const ready = condition(pod, "Ready");
  if (ready?.status !== "True" && ready?.reason && !TRANSIENT_NOT_READY.has(ready.reason)) {
    return { exitCode: null, reason: `pod ${name} not ready: ${ready.reason}${ready.message ? ` (${ready.message})` : ""}` };
  }
  return undefined;
}

/** A pod as the driver seam's ContainerInfo: running while it is Running and not over, with its endpoint then. */
export function containerInfo(pod: V1Pod): ContainerInfo {
  const running = pod.status?.phase === "Running" && podEnded(pod) === undefined;
  const endpoint = running ? podEndpoint(pod) : undefined;
  const info: ContainerInfo = {
    id: podId(pod.metadata!.name!, uidOf(pod)),
    instanceId: pod.metadata?.labels?.[LABEL_INSTANCE] ?? "",
    labels: { ...pod.metadata?.labels },
    running,
    createdAtMs: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0,
  };
  if (endpoint) info.endpoint = endpoint;
  if (pod.spec?.nodeName) info.hostName = pod.spec.nodeName;
  return info;
}
