/**
 * The engine API's create body for one transcriber container: the same container the Podman driver makes
 * (labels, hardening, both ulimits, StopTimeout, the non-root user), on host networking with its own port, or
 * on a bridge with 8080 published on the host's publish address (the engine picks the host port).
 */
import type Docker from "dockerode";
import { transcriberEnvOnly } from "../../transcriber/env.ts";
import type { ContainerSpec } from "../driver.ts";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED, LABEL_PORT } from "../driver.ts";
import { CONTAINER_USER, type ContainerLimits, hardenedHostConfig } from "../hardening.ts";
import type { ContainerNetwork } from "../podman-driver.ts";

/** Port the transcriber listens on in its own network namespace (bridge). */
export const CONTAINER_PORT = 8080;
/** SIGTERM to SIGKILL when something else stops it (the transcriber's drain takes at most 5 s). */
export const ENGINE_STOP_TIMEOUT_SECONDS = 10;
/** Both ulimits explicitly: with nofile alone runc fails on a second Podman root ("setting rlimit type 6"). */
export const ULIMITS = [
  { Name: "nofile", Soft: 16384, Hard: 16384 },
  { Name: "nproc", Soft: 8192, Hard: 8192 },
];

export interface CreateOptionsInput {
  name: string;
  image: string;
  spec: ContainerSpec;
  gatewayName: string;
  network: ContainerNetwork;
  limits: ContainerLimits;
  /** The address the host's containers listen on (host network) or publish on (bridge). */
  publishAddress: string;
  /** Host networking: the port the transcriber listens on. */
  hostPort?: number;
}

/** The create body; the transcriber's environment passes the allowlist of transcriber/env.ts only. */
export function createOptions(input: CreateOptionsInput): Docker.ContainerCreateOptions {
  const env: Record<string, string> = { ...transcriberEnvOnly(input.spec.env) };
  const labels: Record<string, string> = {
    ...input.spec.labels,
    [LABEL_MANAGED]: "true",
    [LABEL_GATEWAY]: input.gatewayName,
    [LABEL_INSTANCE]: input.spec.instanceId,
  };
  const hostConfig: Docker.HostConfig = { ...hardenedHostConfig(input.limits), Ulimits: ULIMITS };
  const options: Docker.ContainerCreateOptions = {
    name: input.name,
    Image: input.image,
    User: CONTAINER_USER,
    StopTimeout: ENGINE_STOP_TIMEOUT_SECONDS,
  };
  if (input.network === "host") {
    if (input.hostPort === undefined) throw new Error("host networking needs the container's port");
    hostConfig.NetworkMode = "host";
    labels[LABEL_PORT] = String(input.hostPort);
    Object.assign(env, { PORT: String(input.hostPort), HOST: input.publishAddress });
  } else {
    options.ExposedPorts = { [`${CONTAINER_PORT}/tcp`]: {} };
    hostConfig.PortBindings = { [`${CONTAINER_PORT}/tcp`]: [{ HostIp: input.publishAddress, HostPort: "0" }] };
    Object.assign(env, { PORT: String(CONTAINER_PORT), HOST: "0.0.0.0" });
  }
  return { ...options, Env: Object.entries(env).map(([key, value]) => `${key}=${value}`), Labels: labels, HostConfig: hostConfig };
}
