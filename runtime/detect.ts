import type { ContainerDriver } from "./driver.ts";
import type { DriverChoice } from "./driver-choice.ts";
import type { RuntimeLogger } from "./logger.ts";
import { candidateSockets, findEngine, type EngineSocket } from "./engine.ts";
import type { ContainerLimits } from "./hardening.ts";
import { PodmanDriver, type ContainerNetwork } from "./podman-driver.ts";
import { ProcessDriver, type ProcessDriverOptions } from "./process-driver.ts";
import { createKubernetesDriver, type KubernetesDriverSettings } from "./kubernetes/index.ts";
import { transcriberImage } from "./image.ts";
import type { EngineHostSpec } from "./engine-hosts/config.ts";
import type { HostsLogger } from "./engine-hosts/engine-host.ts";
import { MultiHostDriver } from "./engine-hosts/multi-host-driver.ts";

export interface CreateDriverOptions {
  /** LABEL_GATEWAY and container-name prefix: sweep() removes only this gateway's leftovers. */
  gatewayName?: string;
  /** CONTAINER_NETWORK for the engine driver. */
  network?: ContainerNetwork;
  /** Memory, CPU and process caps per container for the engine driver (default: DEFAULT_LIMITS). */
  limits?: ContainerLimits;
  /** TRANSCRIBER_SOCKET_DIR for the engine driver: where Unix socket directories are made; null for TCP only. */
  socketParentDir?: string | null;
  /** Image for the engine driver (the gateway passes its validated TRANSCRIBER_IMAGE). */
  image?: string;
  /**
   * The engine API to try first (the gateway passes its validated DOCKER_HOST; undefined: none). When this key
   * is absent, `env.DOCKER_HOST` is used.
   */
  dockerHost?: string;
  /** Where XDG_RUNTIME_DIR (and, without `dockerHost`, DOCKER_HOST) are read. */
  env?: Record<string, string | undefined>;
  /** DOCKER_HOST values to probe, in order. Default: candidateSockets(env). */
  candidates?: string[];
  /** How long each socket has to answer `_ping`. */
  pingTimeoutMs?: number;
  /** CONTAINER_DRIVER=kubernetes: KUBE_NAMESPACE and KUBECONFIG (default: read from `env`). */
  kubernetes?: KubernetesDriverSettings;
  /** Options for the process driver. */
  process?: ProcessDriverOptions;
  /** Told which engine/socket was chosen, or why the process driver was. Default: logger.info. */
  onChoice?: (description: string) => void;
  /** Where the choice is logged when no onChoice is given. */
  logger?: RuntimeLogger;
  /** ENGINE_HOSTS, parsed: when set (and CONTAINER_DRIVER is not process), instances are placed over these hosts. */
  engineHosts?: EngineHostSpec[];
}

/**
 * Makes the driver CONTAINER_DRIVER asks for. `auto`: the engine driver when a socket answers `_ping`, else
 * the process driver. An explicit podman/docker with no engine answering throws one line naming the sockets.
 */
export async function createDriver(choice: DriverChoice, options: CreateDriverOptions = {}): Promise<ContainerDriver> {
  const env = options.env ?? process.env;
  const tell = options.onChoice ?? ((description: string) => options.logger?.info({ driver: description }, "Container driver chosen"));
  if (choice === "process") {
    tell("process driver (CONTAINER_DRIVER=process)");
    return new ProcessDriver(options.process);
  }
  if (choice === "kubernetes") {
    const settings = options.kubernetes ?? {
      namespace: env.KUBE_NAMESPACE || undefined,
      kubeconfig: env.KUBECONFIG || undefined,
      transcriberSecret: env.KUBE_TRANSCRIBER_SECRET || undefined,
    };
    const driver = createKubernetesDriver(
      { env, ...settings },
      { gatewayName: options.gatewayName, image: options.image ?? transcriberImage(env), limits: options.limits, logger: options.logger },
    );
    tell(`kubernetes driver: ${driver.describe()}`);
    return driver;
  }
  if (options.engineHosts) return multiHostDriver(options.engineHosts, options, tell);
  const candidates = driverCandidates(options);
  const engine = await findEngine(env, options.pingTimeoutMs ?? 500, candidates);
  if (!engine) {
    const tried = candidates.join(", ");
    if (choice === "auto") {
      tell(`process driver: no container engine answered (tried ${tried})`);
      return new ProcessDriver(options.process);
    }
    throw new Error(
      `CONTAINER_DRIVER=${choice} but no container engine answered on ${tried}; start one (scripts/engine-setup.sh) or use CONTAINER_DRIVER=process`,
    );
  }
  if (choice !== "auto" && choice !== engine.name) {
    tell(`${engine.name} driver: CONTAINER_DRIVER=${choice} asked, ${engine.dockerHost} is ${engine.name} (Docker-compatible API)`);
  } else tell(`${engine.name} driver at ${engine.dockerHost}`);
  return engineDriver(engine, options);
}

/** The engine sockets createDriver probes, in order: `candidates`, else the usual ones after `dockerHost`. */
export function driverCandidates(options: Pick<CreateDriverOptions, "candidates" | "dockerHost" | "env">): string[] {
  if (options.candidates) return options.candidates;
  const env = options.env ?? process.env;
  return candidateSockets("dockerHost" in options ? { ...env, DOCKER_HOST: options.dockerHost } : env);
}

function engineDriver(engine: EngineSocket, options: CreateDriverOptions): PodmanDriver {
  return new PodmanDriver({
    engine,
    gatewayName: options.gatewayName,
    network: options.network,
    image: options.image,
    limits: options.limits,
    socketParentDir: options.socketParentDir,
    logger: options.logger,
  });
}

/** Several engine hosts: each checked once now (a host without the image gets its Error line at start-up). */
async function multiHostDriver(
  hosts: EngineHostSpec[],
  options: CreateDriverOptions,
  tell: (description: string) => void,
): Promise<MultiHostDriver> {
  const logger = options.logger;
  const hostsLogger: HostsLogger | undefined = logger && {
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: ((logger as Partial<HostsLogger>).error ?? logger.warn).bind(logger),
  };
  const driver = new MultiHostDriver({
    hosts,
    gatewayName: options.gatewayName,
    network: options.network,
    image: options.image,
    limits: options.limits,
    logger: hostsLogger,
  });
  await driver.open();
  const listed = driver.hosts().map((host) => `${host.name}=${host.endpoint} (${host.up ? "up" : "down"})`);
  tell(`engine hosts driver over ${hosts.length} hosts: ${listed.join(", ")}`);
  return driver;
}
