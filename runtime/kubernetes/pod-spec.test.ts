import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS } from "../hardening.ts";
import { cpuQuantity, instancePod, memoryQuantity, podName } from "./pod-spec.ts";
import { podEndpoint } from "./pod-state.ts";

describe("pod names", () => {
  test("te-<gateway>-<instance> when that is a DNS-1123 label; the same in every gateway of the cluster", () => {
    expect(podName("edge", "pool-3")).toBe("te-edge-pool-3");
    expect(podName("edge", "session-0123456789abcdef")).toBe("te-edge-session-0123456789abcdef");
  });

  test("too long, or not a label as is: shortened and hashed, still deterministic, never colliding on case", () => {
    const long = podName("a-rather-long-cluster-name", `session-${"f".repeat(60)}`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(podName("a-rather-long-cluster-name", `session-${"f".repeat(60)}`)).toBe(long);
    expect(podName("edge", "Pool_1")).not.toBe(podName("edge", "pool-1"));
    expect(podName("edge", "Pool_1")).toMatch(/^te-edge-pool-1-[0-9a-f]{10}$/);
  });
});

test("quantities: memory in Mi when whole, CPUs in millicores", () => {
  expect([memoryQuantity(512 * 1024 ** 2), memoryQuantity(1000), cpuQuantity(0.5), cpuQuantity(2)]).toEqual([
    "512Mi",
    "1000",
    "500m",
    "2000m",
  ]);
});

test("an instance pod: restricted profile, no service-account token, requests equal limits, PORT 8080, readiness on /health", () => {
  const pod = instancePod({
    gatewayName: "edge",
    instanceId: "pool-0",
    image: "te:1",
    env: { TRANSCRIBER_BACKEND: "echo", PORT: "1" },
    labels: { "io.transcribe-edge.fence": "4" },
    limits: { ...DEFAULT_LIMITS, memoryBytes: 256 * 1024 ** 2, cpus: 0.25 },
  });
  const container = pod.spec!.containers[0]!;
  expect(pod.spec).toMatchObject({
    automountServiceAccountToken: false,
    restartPolicy: "Never",
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  });
  expect(container.securityContext).toEqual({
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
  });
  expect(container.resources).toEqual({ requests: { memory: "256Mi", cpu: "250m" }, limits: { memory: "256Mi", cpu: "250m" } });
  expect(container.env).toContainEqual({ name: "PORT", value: "8080" }); // the driver's port wins over the spec's
  expect(container.readinessProbe?.httpGet).toEqual({ path: "/health", port: "http" });
  expect(pod.metadata?.labels).toMatchObject({
    "io.transcribe-edge.instance": "pool-0",
    "io.transcribe-edge.gateway": "edge",
    "io.transcribe-edge.fence": "4",
  });
});

test("the endpoint is the pod IP (bracketed when IPv6) and the declared port", () => {
  const pod = instancePod({ gatewayName: "edge", instanceId: "pool-0", image: "te:1", env: {}, limits: DEFAULT_LIMITS });
  expect(podEndpoint({ ...pod, status: { podIP: "10.1.2.3" } })).toEqual({ host: "10.1.2.3", port: 8080 });
  expect(podEndpoint({ ...pod, status: { podIP: "fd00::17" } })).toEqual({ host: "[fd00::17]", port: 8080 });
  expect(podEndpoint({ ...pod, status: {} })).toBeUndefined();
});
