/**
 * A ContainerDriver for one engine host over the Docker Engine API (dockerode), with no process-wide state:
 * the same container as the Podman driver (labels, hardening, ulimits, StopTimeout, host or bridge network,
 * published on the host's publish address), a /health poll, and an exit wait that outlives API outages.
 */
import type Docker from "dockerode";
import type { ContainerDriver, ContainerInfo, ContainerSpec, ExitInfo, RunningContainer } from "../driver.ts";
import { CONTAINER_PORT, createOptions } from "./create-options.ts";
import { hasImageOn, isPodmanEngine, listCluster, NoAnswerError, pingWithin, removeRetrying, within } from "./engine-calls.ts";
import { unreachableAs } from "./host-errors.ts";
import { freePort } from "../free-port.ts";
import { type ContainerLimits, DEFAULT_LIMITS } from "../hardening.ts";
import { waitForHealth } from "../health.ts";
import { transcriberImage } from "../image.ts";
import { type RuntimeLogger, silentLogger } from "../logger.ts";
import { ImageMissingError, type ContainerNetwork } from "../podman-driver.ts";
import { engineClient, statusOf } from "./client.ts";
import type { EngineHostSpec } from "./config.ts";
import { HostWaitError, waitForHostExit } from "./exit-wait.ts";

/** Pause before a broken wait (or a refused removal) is asked again while the API does not answer. */
const ENGINE_RETRY_MS = 500;
const REMOVE_ATTEMPTS = 10;
/** Most one engine call of a start or stop may take; a healthy create or start answers in well under a second. */
const ENGINE_CALL_TIMEOUT_MS = 5000;
/** A create that got no answer may still happen once the host thaws: removal by name is tried this long. */
const ABANDONED_REMOVAL_MS = 120_000;

export interface HostDriverOptions {
  host: EngineHostSpec;
  /** Default: engineClient(host). */
  client?: Docker;
  image?: string;
  gatewayName?: string;
  network?: ContainerNetwork;
  startupTimeoutMs?: number;
  /** Seconds the engine gives SIGTERM before SIGKILL on our own stop. */
  stopTimeoutSeconds?: number;
  limits?: ContainerLimits;
  logger?: RuntimeLogger;
}

interface Started extends RunningContainer {
  stopRequested: boolean;
  /** Lost with its host: left to the host's sweep when it returns (removing it now would only time out). */
  lost: boolean;
  waiting: AbortController;
  settle(info: ExitInfo): void;
}

function nameSafe(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 48);
}

export class HostDriver implements ContainerDriver {
  readonly name: "podman" | "docker" = "podman";
  readonly host: EngineHostSpec;
  readonly client: Docker;
  readonly gatewayName: string;
  readonly image: string;
  private readonly network: ContainerNetwork;
  private readonly startupTimeoutMs: number;
  private readonly stopTimeoutSeconds: number;
  private readonly limits: ContainerLimits;
  private readonly logger: RuntimeLogger;
  private flavour: Promise<boolean> | undefined;
  private readonly started = new Map<string, Started>();
  private readonly creating = new Set<string>();
  /** Containers given up with the host (lose()) and not yet removed: the host's return removes them. */
  readonly lostIds = new Set<string>();
  /** Starts placed here whose container the engine has not created yet (placement counts them). */
  reserving = 0;

  constructor(options: HostDriverOptions) {
    this.host = options.host;
    this.client = options.client ?? engineClient(options.host);
    this.gatewayName = nameSafe(options.gatewayName ?? "default");
    this.image = options.image ?? transcriberImage();
    this.network = options.network ?? "bridge";
    this.startupTimeoutMs = options.startupTimeoutMs ?? 15_000;
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? 2;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.logger = options.logger ?? silentLogger;
  }

  /** Ids of the containers this driver started (or is starting) and has not stopped. */
  ownIds(): string[] {
    return [...new Set([...this.started.keys(), ...this.creating])];
  }

  /** Running handles this driver holds (own and adopted). */
  handles(): RunningContainer[] {
    return [...this.started.values()];
  }

  /** Podman (libpod wait) or Docker: asked once (again after a failure). */
  private isPodman(): Promise<boolean> {
    this.flavour ??= isPodmanEngine(this.client).catch((error: unknown) => {
      this.flavour = undefined;
      throw error;
    });
    return this.flavour;
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    // Counted from the first instant, so placements in the same tick see this one.
    this.reserving++;
    let reserved = true;
    const unreserve = () => {
      if (reserved) this.reserving--;
      reserved = false;
    };
    const name = `te-${this.gatewayName}-${nameSafe(spec.instanceId)}-${crypto.randomUUID().slice(0, 8)}`;
    const host = this.host;
    let port = CONTAINER_PORT;
    let createdId: string | undefined;
    try {
      if (this.network === "host") port = await freePort();
      const body = createOptions({
        name,
        image: this.image,
        spec,
        gatewayName: this.gatewayName,
        network: this.network,
        limits: this.limits,
        publishAddress: host.publishAddress,
        hostPort: this.network === "host" ? port : undefined,
      });
      const container = await within(this.client.createContainer(body), ENGINE_CALL_TIMEOUT_MS, "create")
        .catch((error: unknown) => {
          if (error instanceof NoAnswerError) this.abandon(name);
          if (statusOf(error) === 404) throw new ImageMissingError(this.image);
          throw error;
        })
        .catch(unreachableAs(this.host.name));
      createdId = container.id;
      this.creating.add(container.id);
      unreserve();
      await within(container.start(), ENGINE_CALL_TIMEOUT_MS, "start").catch(unreachableAs(this.host.name));
      if (this.network !== "host") {
        const inspected = await within(container.inspect(), ENGINE_CALL_TIMEOUT_MS, "inspect").catch(unreachableAs(this.host.name));
        port = Number(inspected.NetworkSettings.Ports?.[`${CONTAINER_PORT}/tcp`]?.[0]?.HostPort);
      }
      const handle = this.track(container.id, port);
      await waitForHealth(`http://${this.host.publishAddress}:${port}/health`, {
        timeoutMs: this.startupTimeoutMs,
        died: handle.exited.then((info) => info.reason),
      });
      this.creating.delete(container.id);
      return handle;
    } catch (error) {
      unreserve();
      if (createdId) await this.remove(createdId);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`engine host ${this.host.name}: instance ${spec.instanceId} (${this.image}) failed to start: ${message}`, {
        cause: error,
      });
    }
  }

  private track(id: string, port: number): Started {
    let settle!: (info: ExitInfo) => void;
    let settled = false;
    const handle: Started = {
      id,
      host: this.host.publishAddress,
      port,
      hostName: this.host.name,
      stopRequested: false,
      lost: false,
      waiting: new AbortController(),
      exited: new Promise<ExitInfo>((resolve) => (settle = resolve)),
      settle: (info) => {
        if (settled || handle.stopRequested) return;
        settled = true;
        this.started.delete(id);
        handle.waiting.abort();
        settle(info);
      },
    };
    this.started.set(id, handle);
    void this.waitForExitOf(handle).then((info) => {
      if (handle.stopRequested || handle.lost) return;
      handle.settle(info);
      void this.remove(id); // a dead container keeps its name and layer until removed
    });
    return handle;
  }

  /** Resolves when the container exits; an API that stops answering is asked again (the container runs on). */
  private async waitForExitOf(handle: Started): Promise<ExitInfo> {
    while (!handle.stopRequested && !handle.waiting.signal.aborted) {
      try {
        const exitCode = await waitForHostExit(this.client, await this.isPodman(), handle.id, handle.waiting.signal);
        const signal = exitCode !== null && exitCode > 128 ? ` (signal ${exitCode - 128})` : "";
        return { exitCode, reason: `container exited with code ${exitCode}${signal}` };
      } catch (error) {
        if (error instanceof HostWaitError && error.statusCode === 404)
          return { exitCode: null, reason: `container vanished: ${error.message}` };
        await Bun.sleep(ENGINE_RETRY_MS);
      }
    }
    return { exitCode: null, reason: "stopped" };
  }

  /** The host was lost: this container's `exited` resolves with `reason` (the monitor decides which ones). */
  lose(id: string, reason: string): void {
    const handle = this.started.get(id);
    if (!handle) return;
    handle.lost = true;
    this.lostIds.add(id);
    handle.settle({ exitCode: null, reason });
  }

  /** Whether the host has the image (false only when the engine says it does not). */
  async hasImage(): Promise<boolean> {
    return hasImageOn(this.client, this.image);
  }

  async engineProblem(timeoutMs = 1000): Promise<string | undefined> {
    try {
      await pingWithin(this.client, timeoutMs);
      return undefined;
    } catch (error) {
      return `engine host ${this.host.name} not answering at ${this.host.endpoint}: ${(error as Error).message}`;
    }
  }

  async stop(container: RunningContainer): Promise<void> {
    const handle = this.started.get(container.id);
    if (handle) handle.stopRequested = true;
    await this.remove(container.id);
  }

  /**
   * Stops and removes by id. When the host's API does not answer at all, it resolves at once and keeps trying
   * in the background: a caller (an instance replacing a crashed container) must not wait on a lost host,
   * whose return sweeps what is left.
   */
  async remove(id: string): Promise<void> {
    const handle = this.started.get(id);
    if (handle) handle.stopRequested = true;
    const container = this.client.getContainer(id);
    const stopping = within(
      container.stop({ t: this.stopTimeoutSeconds }),
      ENGINE_CALL_TIMEOUT_MS + this.stopTimeoutSeconds * 1000,
      "stop",
    );
    const answered = await stopping.then(
      () => true,
      (error: unknown) => statusOf(error) !== undefined, // 304 already stopped, 404 gone: the engine answered
    );
    const removal = this.removeRetrying(id, container);
    if (answered) await removal;
    handle?.waiting.abort();
    this.started.delete(id);
    this.creating.delete(id);
    if (answered) this.lostIds.delete(id);
  }

  /** A create that got no answer: remove it by name if it appears, for a while, in the background. */
  private abandon(name: string): void {
    const until = Date.now() + ABANDONED_REMOVAL_MS;
    void (async () => {
      while (Date.now() < until) {
        const removed = await within(
          this.client.getContainer(name).remove({ force: true, v: true }),
          ENGINE_CALL_TIMEOUT_MS,
          "remove",
        ).then(
          () => true,
          () => false,
        );
        if (removed) return;
        await Bun.sleep(2000);
      }
    })();
  }

  /** Removal asked again until the engine says the container is gone; then left to the host's next sweep. */
  private async removeRetrying(id: string, container: Docker.Container): Promise<void> {
    const error = await removeRetrying(container, REMOVE_ATTEMPTS, ENGINE_RETRY_MS);
    if (error === undefined) return;
    const line = "container could not be removed; the host's next sweep removes it";
    this.logger.warn({ host: this.host.name, container: id, error: String(error) }, line);
  }

  list(): Promise<ContainerInfo[]> {
    return listCluster(this.client, this.gatewayName, this.host.publishAddress, this.host.name);
  }

  adopt(info: ContainerInfo): RunningContainer {
    const known = this.started.get(info.id);
    if (known) return known;
    if (!info.endpoint)
      throw new Error(`engine host ${this.host.name}: container ${info.id} (${info.instanceId}) has no endpoint to adopt`);
    return this.track(info.id, info.endpoint.port);
  }

  async sweep(): Promise<number> {
    const own = new Set(this.ownIds());
    const orphans = (await this.list()).filter((info) => !own.has(info.id));
    await Promise.all(orphans.map((info) => this.remove(info.id)));
    return orphans.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.ownIds().map((id) => this.remove(id)));
  }
}
