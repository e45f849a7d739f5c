/**
 * The seam between instance lifecycle and a container engine. An instance (runtime/instance.ts) asks a
 * driver to start one transcriber process for it, and learns from the returned handle where it listens
 * and when it dies. Drivers: podman/docker through testcontainers, a local Bun subprocess, and Kubernetes pods
 * (runtime/kubernetes/).
 */

/** Labels every container the gateway creates carries; the start-up sweep finds leftovers by them. */
import type { EngineHostsView } from "./engine-hosts/view.ts";

export const LABEL_MANAGED = "io.transcribe-edge.managed";
export const LABEL_GATEWAY = "io.transcribe-edge.gateway";
export const LABEL_INSTANCE = "io.transcribe-edge.instance";
/** The GATEWAY_ID of the gateway that started the container (a cluster's replicas share LABEL_GATEWAY). */
export const LABEL_REPLICA = "io.transcribe-edge.replica";
/** The cluster's fence token of the start that made the container (ROUTING_STORE=redis); absent otherwise. */
export const LABEL_FENCE = "io.transcribe-edge.fence";
/** Engine drivers: the port the transcriber listens on with host networking (so a peer can adopt it). */
export const LABEL_PORT = "io.transcribe-edge.port";

export type DriverName = "podman" | "docker" | "process" | "kubernetes";

/** What to start. `instanceId` is already safe (e.g. `pool-3`, `session-<hash>`): never raw user input. */
export interface ContainerSpec {
  instanceId: string;
  /**
   * Environment for the transcriber (PORT is chosen by the driver and added to it). Drivers pass only the
   * names transcriber/env.ts allows, so nothing else the gateway holds can reach a container.
   */
  env: Record<string, string>;
  /** More labels for the container (the cluster's LABEL_REPLICA, LABEL_FENCE), added to the driver's own. */
  labels?: Record<string, string>;
}

/** Where a transcriber listens: TCP, plus a Unix socket when the driver could give it one. */
export interface ContainerEndpoint {
  host: string;
  port: number;
  socketPath?: string;
}

/** A container of this gateway's cluster as the engine reports it: enough to adopt it or remove it. */
export interface ContainerInfo {
  /** Engine container id (the same id RunningContainer.id carries). */
  id: string;
  /** LABEL_INSTANCE. */
  instanceId: string;
  /** Every label it carries (LABEL_REPLICA, LABEL_FENCE, ...). */
  labels: Record<string, string>;
  /** Running (created, exited and the like are not). */
  running: boolean;
  /** Where it listens, when the driver can tell (running containers). */
  endpoint?: ContainerEndpoint;
  /** When it was created (ms epoch). */
  createdAtMs: number;
  /** The engine host it runs on (several engine hosts); absent with a single engine. */
  hostName?: string;
}

/** Why a started container ended without being asked to. */
export interface ExitInfo {
  exitCode: number | null;
  reason: string;
  /**
   * True when the end was decided elsewhere on purpose (a cluster peer put the container to sleep or scaled it
   * down): sessions on it still close with 1012, but the instance sleeps instead of failing (no backoff).
   */
  expected?: boolean;
}

/**
 * A start refused before any container was made, for a reason that is not the container's fault (the cluster's
 * MAX_INSTANCES is reached, the shared store is away): the instance does not count it as a failed start.
 */
export class StartDeclinedError extends Error {
  override name = "StartDeclinedError";
  constructor(
    message: string,
    /** When asking again may succeed (the listen route's Retry-After). */
    readonly retryAfterS = 2,
  ) {
    super(message);
  }
}

/** A started, healthy transcriber. */
export interface RunningContainer {
  /** Engine container id, or `pid:<n>` for the process driver. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /**
   * A Unix socket the transcriber also listens on, when the driver could give it one (process driver, host
   * network): the relay's data path then skips loopback TCP, about a third of the kernel time per frame.
   */
  readonly socketPath?: string;
  /** Resolves once when the container exits on its own (crash, kill); never for a stop() we asked for. */
  readonly exited: Promise<ExitInfo>;
  /** The engine host it runs on (several engine hosts); absent with a single engine. */
  readonly hostName?: string;
  /**
   * Set when a cluster peer made the container, so the instance counts and announces no start of its own:
   * `running` when start() found it running (the session joins a warm container), `starting` when start() waited
   * for the peer's start (the session waited for a start: its Metadata says so).
   */
  readonly joined?: "running" | "starting";
}

export interface ContainerDriver {
  readonly name: DriverName;
  /** Starts one transcriber and resolves once its `GET /health` answers 200. Rejects with a clear message. */
  start(spec: ContainerSpec): Promise<RunningContainer>;
  /** Stops and removes it; resolves when its resources are released. Idempotent. */
  stop(container: RunningContainer): Promise<void>;
  /** Removes containers a previous run of this gateway left behind (by label); returns how many. */
  sweep(): Promise<number>;
  /** Every container of this gateway's cluster (LABEL_GATEWAY), whichever process started it. */
  list(): Promise<ContainerInfo[]>;
  /**
   * A handle on a running container another process started (a cluster peer that died): its `exited`
   * resolves when the container ends on its own, and stop() stops it like one of this driver's own.
   */
  adopt(info: ContainerInfo): RunningContainer;
  /** Stops and removes a container by id, whoever started it; one already gone is not an error. */
  remove(id: string): Promise<void>;
  /** Stops everything this driver started and not yet stopped. */
  close(): Promise<void>;
  /**
   * Whether the engine answers: undefined when it does, else one line saying what does not. Drivers with no
   * engine to lose (process) leave it out; the gateway's engine monitor polls it.
   */
  engineProblem?(): Promise<string | undefined>;
  /**
   * Several engine hosts (ENGINE_HOSTS): their status for /stats and the placement refusal (all hosts full,
   * down or drained: 503 + Retry-After before the upgrade). A decorating driver passes it through.
   */
  engineHosts?(): EngineHostsView;
}
