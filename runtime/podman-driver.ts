import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { getContainerRuntimeClient } from "testcontainers";
import { transcriberEnvOnly } from "../transcriber/env.ts";
import type { ContainerDriver, ContainerInfo, ContainerSpec, ExitInfo, RunningContainer } from "./driver.ts";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED, LABEL_PORT } from "./driver.ts";
import { pingSocket, type EngineSocket } from "./engine.ts";
import { freePort } from "./free-port.ts";
import { type ContainerLimits, DEFAULT_LIMITS } from "./hardening.ts";
import { NoWait, TranscriberContainer } from "./transcriber-container.ts";
import { EngineWaitError, waitForExit } from "./engine-wait.ts";
import { waitForHealth } from "./health.ts";
import { transcriberImage } from "./image.ts";
import { type RuntimeLogger, silentLogger } from "./logger.ts";

/** Where the socket directory is mounted inside the container (host networking). */
const SOCKET_DIR_IN_CONTAINER = "/run/transcribe-edge";

/**
 * A fresh host directory for one container's socket, writable by the image's non-root user (the directory is
 * its only content; the parent stays private).
 */
function makeSocketDir(parent: string, containerName: string): string {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const dir = join(parent, containerName);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

/** Port the transcriber listens on inside its own network namespace (bridge networking). */
const CONTAINER_PORT = 8080;

/**
 * What the engine gives a transcriber between SIGTERM and SIGKILL when something other than this driver stops
 * it (`podman stop`, an engine or host shutdown). Podman's compat API otherwise records 0: SIGKILL at once,
 * and the open sessions lose their finals. The transcriber's own drain exits within 5 s (transcriber/main.ts).
 */
const ENGINE_STOP_TIMEOUT_SECONDS = 10;

/** How often a broken wait on a container (or a refused removal) is asked again while the engine API does not answer. */
const ENGINE_RETRY_MS = 500;

/** Removal attempts before a container is left to the next start's sweep (about 5 s of engine restart). */
const REMOVE_ATTEMPTS = 10;

export type ContainerNetwork = "host" | "bridge";

export interface PodmanDriverOptions {
  /** The engine detect.ts found; its DOCKER_HOST is what testcontainers talks to. */
  engine: EngineSocket;
  /** Image to run. Default: transcriberImage() (TRANSCRIBER_IMAGE or the locally built tag). */
  image?: string;
  /** Goes into LABEL_GATEWAY and container names; sweep() only touches this gateway's containers. */
  gatewayName?: string;
  /** `bridge`: own netns, 8080 published on 127.0.0.1 only. `host`: loopback of the host, own PORT each. */
  network?: ContainerNetwork;
  startupTimeoutMs?: number;
  /** Seconds the engine gives SIGTERM before SIGKILL on stop. */
  stopTimeoutSeconds?: number;
  /** Memory, CPU and process caps per container (runtime/hardening.ts). Default: DEFAULT_LIMITS. */
  limits?: ContainerLimits;
  /**
   * Host directory under which each container (host networking) gets its Unix socket directory; null: TCP
   * only. It is bind-mounted by path, so a gateway that itself runs in a container must see it at the same
   * path as the host (TRANSCRIBER_SOCKET_DIR). Default: a private directory under the system temp dir.
   */
  socketParentDir?: string | null;
  /** Where a container that could not be removed is reported. Default: silent. */
  logger?: RuntimeLogger;
}

interface Started extends RunningContainer {
  stopRequested: boolean;
  socketPath?: string;
  /** Aborts the engine wait once the gateway stops the container itself. */
  waiting: AbortController;
}

/** The configured image is not on the engine (a `localhost/` image that was never built there). */
export class ImageMissingError extends Error {
  override name = "ImageMissingError";
  constructor(readonly image: string) {
    super(`no such image: ${image} is not on this engine (build it: npm run build:image)`);
  }
}

/** Container names allow [a-zA-Z0-9_.-]; ids are already safe, this only guarantees it. */
function nameSafe(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 48);
}

/**
 * Each instance is a transcriber container on Podman or Docker, started through testcontainers. Containers
 * carry the gateway's labels so sweep() can remove what a crashed run left behind (it replaces Ryuk).
 */
export class PodmanDriver implements ContainerDriver {
  readonly name: "podman" | "docker";
  readonly gatewayName: string;
  readonly network: ContainerNetwork;
  private readonly image: string;
  private readonly startupTimeoutMs: number;
  private readonly stopTimeoutSeconds: number;
  private readonly limits: ContainerLimits;
  private readonly socketParentDir: string | null;
  private readonly dockerHost: string;
  private readonly engine: EngineSocket;
  private readonly logger: RuntimeLogger;
  /** The image was found once; a local image is not checked again. */
  private imageSeen = false;
  private readonly started = new Map<string, Started>();
  /** Host directories holding each container's Unix socket, removed with the container. */
  private readonly socketDirs = new Map<string, string>();
  /** Created but not yet healthy: removed by close() too. */
  private readonly creating = new Set<string>();

  constructor(options: PodmanDriverOptions) {
    this.name = options.engine.name;
    this.dockerHost = options.engine.dockerHost;
    this.engine = options.engine;
    this.gatewayName = nameSafe(options.gatewayName ?? "default");
    this.network = options.network ?? "bridge";
    this.image = options.image ?? transcriberImage();
    this.startupTimeoutMs = options.startupTimeoutMs ?? 15_000;
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? 2;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.logger = options.logger ?? silentLogger;
    this.socketParentDir =
      options.socketParentDir === undefined ? join(tmpdir(), `transcribe-edge-${process.getuid?.() ?? "user"}`) : options.socketParentDir;
    // testcontainers resolves its engine once per process, from the environment.
    process.env.DOCKER_HOST = options.engine.dockerHost;
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
    // Inside a VM or container testcontainers guesses the bridge gateway (10.88.0.1) as the host; ports are
    // published on loopback only, so its own waits must look there.
    if (options.engine.dockerHost.startsWith("unix://")) process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const suffix = crypto.randomUUID().slice(0, 8);
    const name = `te-${this.gatewayName}-${nameSafe(spec.instanceId)}-${suffix}`;
    let createdId: string | undefined;
    let socketDirForId: string | undefined;
    const container = new TranscriberContainer(this.image, (id) => {
      createdId = id;
      this.creating.add(id);
      if (socketDirForId) this.socketDirs.set(id, socketDirForId);
    })
      .withName(name)
      .withLabels({ ...spec.labels, [LABEL_MANAGED]: "true", [LABEL_GATEWAY]: this.gatewayName, [LABEL_INSTANCE]: spec.instanceId })
      .withUlimits({ nofile: { soft: 16384, hard: 16384 }, nproc: { soft: 8192, hard: 8192 } })
      .withHardening(this.limits)
      .withStopTimeout(ENGINE_STOP_TIMEOUT_SECONDS)
      .withAutoCleanup(false) // no Ryuk: sweep() does its job
      .withStartupTimeout(this.startupTimeoutMs);
    const env = transcriberEnvOnly(spec.env); // the transcriber's own variables only, never a gateway secret
    let hostPort = CONTAINER_PORT;
    let socketDir: string | undefined;
    if (this.network === "host") {
      hostPort = await freePort();
      container.withLabels({ [LABEL_PORT]: String(hostPort) });
      container.withNetworkMode("host").withEnvironment({ ...env, PORT: String(hostPort), HOST: "127.0.0.1" });
      if (this.socketParentDir !== null) {
        // A host directory for the transcriber's Unix socket: the relay's data path then skips loopback TCP.
        socketDir = makeSocketDir(this.socketParentDir, name);
        socketDirForId = socketDir;
        container
          .withBindMounts([{ source: socketDir, target: SOCKET_DIR_IN_CONTAINER, mode: "rw" }])
          .withEnvironment({ LISTEN_SOCKET: `${SOCKET_DIR_IN_CONTAINER}/listen.sock` });
      }
    } else {
      container.withLoopbackPort(CONTAINER_PORT).withEnvironment({ ...env, PORT: String(CONTAINER_PORT), HOST: "0.0.0.0" });
    }
    container.withWaitStrategy(new NoWait());

    try {
      await this.checkLocalImage();
      const running = await container.start();
      const port = this.network === "host" ? hostPort : running.getMappedPort(CONTAINER_PORT);
      const handle = this.track(running.getId(), port);
      await waitForHealth(`http://127.0.0.1:${port}/health`, {
        timeoutMs: this.startupTimeoutMs,
        died: handle.exited.then((info) => info.reason),
      });
      // The transcriber opens its socket before TCP; without it (no write access to the mount) TCP serves.
      if (socketDir && existsSync(join(socketDir, "listen.sock"))) handle.socketPath = join(socketDir, "listen.sock");
      this.creating.delete(handle.id);
      return handle;
    } catch (error) {
      if (createdId) await this.remove(createdId);
      else if (socketDir) rmSync(socketDir, { recursive: true, force: true });
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${this.name} driver: instance ${spec.instanceId} (${this.image}) failed to start: ${message}`, { cause: error });
    }
  }

  /** Registers a running container and watches it through the engine's wait API. */
  private track(id: string, port: number): Started {
    let settle!: (info: ExitInfo) => void;
    const handle: Started = {
      id,
      host: "127.0.0.1",
      port,
      stopRequested: false,
      waiting: new AbortController(),
      exited: new Promise<ExitInfo>((resolve) => (settle = resolve)),
    };
    this.started.set(id, handle);
    void this.waitForExitOf(handle).then((info) => {
      this.started.delete(id);
      if (handle.stopRequested) return;
      settle(info);
      // A dead container still holds its name and layer until removed; nobody else will remove it.
      void this.remove(id);
    });
    return handle;
  }

  /**
   * Resolves when the container exits. The engine API going away (an outage, a restart of `podman system
   * service`) breaks the wait call but not the container, which runs on under conmon: the wait is asked again
   * once the API answers, so its sessions go on. Only the engine saying the container is gone ends it.
   */
  private async waitForExitOf(handle: Started): Promise<ExitInfo> {
    while (!handle.stopRequested) {
      try {
        const exitCode = await waitForExit(this.engine, handle.id, handle.waiting.signal);
        const signal = exitCode !== null && exitCode > 128 ? ` (signal ${exitCode - 128})` : "";
        return { exitCode, reason: `container exited with code ${exitCode}${signal}` };
      } catch (error) {
        if (error instanceof EngineWaitError && error.statusCode === 404) {
          return { exitCode: null, reason: `container vanished: ${error instanceof Error ? error.message : String(error)}` };
        }
        await Bun.sleep(ENGINE_RETRY_MS);
      }
    }
    return { exitCode: null, reason: "stopped" };
  }

  /**
   * A `localhost/` image can only come from a local build: when it is missing, say so at once instead of
   * letting testcontainers try to pull it (seconds of retries against a registry that cannot exist).
   */
  private async checkLocalImage(): Promise<void> {
    if (this.imageSeen || !this.image.startsWith("localhost/")) return;
    const client = await getContainerRuntimeClient();
    try {
      await client.container.dockerode.getImage(this.image).inspect();
      this.imageSeen = true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      throw new ImageMissingError(this.image);
    }
  }

  async engineProblem(): Promise<string | undefined> {
    const answered = await pingSocket(this.dockerHost, 1000);
    return answered ? undefined : `container engine not answering at ${this.dockerHost}`;
  }

  async stop(container: RunningContainer): Promise<void> {
    const handle = this.started.get(container.id);
    if (handle) handle.stopRequested = true;
    await this.remove(container.id);
    this.started.delete(container.id);
  }

  /** Stops (SIGTERM, SIGKILL after the timeout) and removes; a container already gone is not an error. */
  async remove(id: string): Promise<void> {
    const handle = this.started.get(id);
    if (handle) handle.stopRequested = true;
    const client = await getContainerRuntimeClient();
    const container = client.container.getById(id);
    await container.stop({ t: this.stopTimeoutSeconds }).catch(() => undefined);
    // Stopped is not removed: a refused removal (a connection broken by an engine restart, a concurrent one
    // still running) is asked again until the engine says the container is gone, so none stays `Exited`.
    for (let attempt = 1; ; attempt++) {
      const error = await container.remove({ force: true, v: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined || (error as { statusCode?: number }).statusCode === 404) break;
      if (attempt === REMOVE_ATTEMPTS) {
        this.logger.warn({ container: id, error: String(error) }, "container could not be removed; the next start's sweep removes it");
        break;
      }
      await Bun.sleep(ENGINE_RETRY_MS);
    }
    handle?.waiting.abort(); // usually answered already; a wait the engine never answered must not linger
    this.creating.delete(id);
    const socketDir = this.socketDirs.get(id);
    this.socketDirs.delete(id);
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  }

  async list(): Promise<ContainerInfo[]> {
    const client = await getContainerRuntimeClient();
    const found = await client.container.dockerode.listContainers({
      all: true,
      filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_GATEWAY}=${this.gatewayName}`] },
    });
    return found.map((info) => {
      const labels = info.Labels ?? {};
      const running = info.State === "running";
      const published = info.Ports?.find((port) => port.PrivatePort === CONTAINER_PORT && port.PublicPort)?.PublicPort;
      const port = labels[LABEL_PORT] ? Number(labels[LABEL_PORT]) : published;
      // Host networking: the socket directory is named after the container, under the same parent.
      const name = (info.Names?.[0] ?? "").replace(/^\//, "");
      const socket = this.socketParentDir !== null && name ? join(this.socketParentDir, name, "listen.sock") : undefined;
      const socketPath = labels[LABEL_PORT] && socket && existsSync(socket) ? socket : undefined;
      return {
        id: info.Id,
        instanceId: labels[LABEL_INSTANCE] ?? "",
        labels,
        running,
        endpoint: running && port ? { host: "127.0.0.1", port, ...(socketPath ? { socketPath } : {}) } : undefined,
        createdAtMs: info.Created * 1000,
      };
    });
  }

  adopt(info: ContainerInfo): RunningContainer {
    const known = this.started.get(info.id);
    if (known) return known;
    if (!info.endpoint) throw new Error(`${this.name} driver: container ${info.id} (${info.instanceId}) has no endpoint to adopt`);
    const handle = this.track(info.id, info.endpoint.port);
    if (info.endpoint.socketPath) {
      handle.socketPath = info.endpoint.socketPath;
      this.socketDirs.set(info.id, dirname(info.endpoint.socketPath));
    }
    return handle;
  }

  async sweep(): Promise<number> {
    const client = await getContainerRuntimeClient();
    const leftovers = await client.container.dockerode.listContainers({
      all: true,
      filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_GATEWAY}=${this.gatewayName}`] },
    });
    // Only what a previous run left: this driver's own live containers are not leftovers.
    const ours = new Set([...this.started.keys(), ...this.creating]);
    const orphans = leftovers.filter((info) => !ours.has(info.Id));
    await Promise.all(orphans.map((info) => this.remove(info.Id)));
    return orphans.length;
  }

  async close(): Promise<void> {
    const ids = [...this.started.keys(), ...this.creating];
    await Promise.all(ids.map((id) => this.remove(id)));
    this.started.clear();
  }
}
