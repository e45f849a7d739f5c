import { type ContainerDriver, type ExitInfo, type RunningContainer, StartDeclinedError } from "./driver.ts";
import { isHealthy } from "./health.ts";
import { InstanceLease, type Lease, type StartKind } from "./lease.ts";
import type { InstanceStateName } from "./instance-state.ts";
import { silentLogger, type RuntimeLogger } from "./logger.ts";

import { EARLY_CRASH_MS, MAX_START_ATTEMPTS, startBackoffMs } from "./start-backoff.ts";

export type { Lease, StartKind } from "./lease.ts";
export type { InstanceStateName } from "./instance-state.ts";

/** Lifecycle as data: each state carries exactly what is valid in it. */
type InstanceState =
  | { name: "idle" }
  | { name: "starting"; kind: Exclude<StartKind, "warm">; ready: Promise<RunningContainer>; token: object }
  | { name: "running"; container: RunningContainer }
  | { name: "stopping"; done: Promise<void> }
  | { name: "sleeping" }
  | { name: "failed"; error: string };

export interface InstanceOptions {
  id: string;
  driver: ContainerDriver;
  /** Transcriber environment, read at each start so a config reload reaches the next container. */
  env?: () => Record<string, string>;
  logger?: RuntimeLogger;
  /** Milliseconds since the epoch; injected so idle logic is tested without waiting. */
  clock?: () => number;
  /** Called on every change of state name (the registry keeps its running count with it). */
  onStateChange?: (instance: Instance, from: InstanceStateName, to: InstanceStateName) => void;
}

/** Plain JSON for /stats. */
export interface InstanceSnapshot {
  id: string;
  state: InstanceStateName;
  connections: number;
  requests: number;
  coldStarts: number;
  wakes: number;
  lastActiveAt: string;
  startedAt: string | null;
  endpoint: string | null;
  containerId: string | null;
  lastError: string | null;
  /** Consecutive failed starts (0 after a successful one). */
  startFailures: number;
  /** While backing off after failed starts: when the next start may be tried (ISO), else null. */
  nextStartAt: string | null;
}

/** How long a container that announced its shutdown gets to exit before the driver stops it. */
const RETIRE_WAIT_MS = 10_000;

/** How long a container that stopped answering gets for the driver to say how it ended (see suspect()). */
const EXIT_ACCOUNT_WAIT_MS = 1_500;

/**
 * A logical transcriber identity (`pool-3`, `session-<hash>`) that outlives its containers: started on first
 * use, put to sleep when idle, woken on demand, restarted after a crash. Starting is single-flight.
 */
export class Instance {
  readonly id: string;
  /** Open sessions (leases not yet released). */
  connections = 0;
  /** acquire() calls, successful or not. */
  requests = 0;
  coldStarts = 0;
  wakes = 0;
  lastActiveAt: number;
  /** When the current container became healthy (ms epoch). */
  startedAt: number | undefined;
  lastError: string | undefined;
  /** How the current container started and how long it took (cold start and wake latency metrics). */
  lastStart: { kind: Exclude<StartKind, "warm">; ms: number } | undefined;
  /** Consecutive failed starts (early crashes included); reset once a container outlives EARLY_CRASH_MS. */
  startFailures = 0;
  /** No start is tried before this (ms epoch) while backing off after failed starts. */
  nextStartAt = 0;
  private current: InstanceState = { name: "idle" };
  private everRan = false;
  private readonly leases = new Set<InstanceLease>();
  /** A health probe in flight after a connection to the container broke; acquire() waits for its verdict. */
  private suspicion: Promise<string | undefined> | undefined;
  private readonly driver: ContainerDriver;
  private readonly env: () => Record<string, string>;
  private readonly logger: RuntimeLogger;
  private readonly clock: () => number;
  private readonly onStateChange: InstanceOptions["onStateChange"];

  constructor(options: InstanceOptions) {
    this.id = options.id;
    this.driver = options.driver;
    this.env = options.env ?? (() => ({}));
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
    this.onStateChange = options.onStateChange;
    this.lastActiveAt = this.clock();
  }

  private get state(): InstanceState {
    return this.current;
  }

  /** Every transition goes through here, so the registry's counts follow the truth. */
  private set state(next: InstanceState) {
    const from = this.current.name;
    this.current = next;
    if (from !== next.name) this.onStateChange?.(this, from, next.name);
  }

  get stateName(): InstanceStateName {
    return this.state.name;
  }

  /** `host:port` of the running container. */
  get endpoint(): string | undefined {
    return this.state.name === "running" ? `${this.state.container.host}:${this.state.container.port}` : undefined;
  }

  get containerId(): string | undefined {
    return this.state.name === "running" ? this.state.container.id : undefined;
  }

  /** Opens a session: starts or wakes the container if needed (sharing any start in flight). */
  async acquire(): Promise<Lease> {
    this.requests++;
    const startedAtMs = this.clock();
    const { container, kind } = await this.running();
    return this.lease(container, kind, this.clock() - startedAtMs);
  }

  /** Starts the container if it is not running, without opening a session (prewarm, spares). */
  async warm(): Promise<void> {
    await this.running();
  }

  /** Resolves with the running container, starting or waking it (single-flight) when needed. */
  private async running(): Promise<{ container: RunningContainer; kind: StartKind }> {
    let kind: StartKind = "warm";
    for (let attempt = 0; ; ) {
      const state = this.state;
      if (state.name === "running") {
        if (!this.suspicion) return { container: state.container, kind };
        await this.suspicion;
        continue;
      }
      if (state.name === "stopping") {
        await state.done;
      } else if (state.name === "starting") {
        const container = await state.ready;
        kind = container.joined === "running" ? "warm" : state.kind;
      } else {
        const waitMs = this.startBlockedForMs();
        if (waitMs > 0) {
          throw new Error(
            `instance ${this.id}: not starting again for ${waitMs} ms after ${this.startFailures} failed starts: ${this.lastError}`,
          );
        }
        if (++attempt > MAX_START_ATTEMPTS)
          throw new Error(`instance ${this.id}: container kept dying right after start (${this.lastError})`);
        kind = this.everRan ? "wake" : "cold";
        this.beginStart(kind);
      }
    }
  }

  /**
   * A connection to this container broke without a close frame. The engine's exit notice can trail the
   * broken socket by a few hundred milliseconds; probing /health now keeps the next session from being handed
   * a dead endpoint. A container that does not answer is treated as crashed and removed, after a short wait for
   * the driver's own account of its end (killed, an engine host lost), which says more than "stopped answering".
   * Resolves with why it ended, or undefined when it still answers.
   */
  suspect(containerId: string): Promise<string | undefined> {
    const state = this.state;
    if (state.name !== "running" || state.container.id !== containerId) {
      return this.suspicion ?? Promise.resolve(state.name === "failed" ? state.error : undefined);
    }
    const container = state.container;
    this.suspicion ??= (async () => {
      if (await isHealthy(`http://${container.host}:${container.port}/health`)) return undefined;
      const told = await Promise.race([container.exited, Bun.sleep(EXIT_ACCOUNT_WAIT_MS).then(() => undefined)]);
      const info = told ?? { exitCode: null, reason: "transcriber stopped answering" };
      this.onExit(container, info); // a no-op when the driver's exit came first
      await this.driver.stop(container).catch(() => undefined);
      return info.reason;
    })().finally(() => (this.suspicion = undefined));
    return this.suspicion;
  }

  /**
   * The container said it is shutting down (a session ended with 1012: `podman stop`, an eviction). It takes
   * no new session: the instance is `stopping` until the container has exited (its drain is bounded; past
   * RETIRE_WAIT_MS the driver stops it), and the next session starts a fresh one. Not a failed start.
   */
  retire(containerId: string): void {
    const state = this.state;
    if (state.name !== "running" || state.container.id !== containerId) return;
    const container = state.container;
    const done = Promise.race([container.exited, Bun.sleep(RETIRE_WAIT_MS)])
      .then(() => this.driver.stop(container)) // removes it; a no-op when the engine already saw it go
      .catch(() => undefined);
    this.state = { name: "stopping", done };
    this.startedAt = undefined;
    void done.then(() => {
      if (this.state.name === "stopping" && this.state.done === done) this.state = { name: "sleeping" };
      this.logger.info({ instance: this.id, container: container.id, reason: "shut down from outside" }, "Transcriber container stopped");
    });
  }

  /** Milliseconds until a start may be tried again after failed starts; 0 when one may be tried now. */
  startBlockedForMs(): number {
    if (this.state.name !== "failed" || this.startFailures === 0) return 0;
    return Math.max(0, this.nextStartAt - this.clock());
  }

  /** Forgets failed starts (the engine came back): the next session may start the container at once. */
  resetStartBackoff(): void {
    this.startFailures = 0;
    this.nextStartAt = 0;
  }

  /** Activity: the gateway calls this as it relays bytes. O(1). */
  touch(): void {
    this.lastActiveAt = this.clock();
  }

  /** Stops the container and keeps the identity; does nothing while a session is open or when not running. */
  async sleep(reason = "idle"): Promise<void> {
    if (this.connections > 0 || this.state.name !== "running") return;
    await this.stopRunning(this.state.container, reason);
  }

  /** Stops whatever runs or is starting, regardless of open sessions (shutdown). Ends in `sleeping`. */
  async stop(reason = "shutdown"): Promise<void> {
    const state = this.state;
    if (state.name === "running") return this.stopRunning(state.container, reason);
    if (state.name === "stopping") return state.done;
    if (state.name !== "starting") return;
    // The start in flight sees it is no longer current and stops its own container (see beginStart).
    const done = state.ready.then(
      () => undefined,
      () => undefined,
    );
    this.state = { name: "stopping", done };
    await done;
    if (this.state.name === "stopping" && this.state.done === done) this.state = { name: "sleeping" };
  }

  snapshot(): InstanceSnapshot {
    return {
      id: this.id,
      state: this.state.name,
      connections: this.connections,
      requests: this.requests,
      coldStarts: this.coldStarts,
      wakes: this.wakes,
      lastActiveAt: new Date(this.lastActiveAt).toISOString(),
      startedAt: this.startedAt === undefined ? null : new Date(this.startedAt).toISOString(),
      endpoint: this.endpoint ?? null,
      containerId: this.containerId ?? null,
      lastError: this.lastError ?? null,
      startFailures: this.startFailures,
      nextStartAt: this.startBlockedForMs() > 0 ? new Date(this.nextStartAt).toISOString() : null,
    };
  }

  private beginStart(kind: Exclude<StartKind, "warm">): void {
    const token = {};
    const isCurrent = () => this.state.name === "starting" && this.state.token === token;
    const beganAtMs = this.clock();
    const ready = this.driver.start({ instanceId: this.id, env: this.env() }).then(
      async (container) => {
        if (!isCurrent()) {
          // Stopped while starting: this container must not outlive the stop that was asked for.
          await this.driver.stop(container).catch(() => undefined);
          this.logger.info(
            { instance: this.id, container: container.id, reason: "stopped while starting" },
            "Transcriber container stopped",
          );
          throw new Error(`instance ${this.id} was stopped while starting`);
        }
        this.everRan = true;
        this.startedAt = this.clock();
        this.lastActiveAt = this.startedAt;
        // A container a cluster peer already ran is joined, not started: no start to count or announce.
        if (!container.joined) {
          if (kind === "cold") this.coldStarts++;
          else this.wakes++;
          this.lastStart = { kind, ms: this.startedAt - beganAtMs };
        }
        // Announced last, so listeners see the counters and the start time already updated.
        this.state = { name: "running", container };
        if (!container.joined) {
          this.logger.info(
            { instance: this.id, container: container.id, start: kind, ms: this.lastStart!.ms },
            "Transcriber container started",
          );
        }
        void container.exited.then((info) => this.onExit(container, info));
        return container;
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof StartDeclinedError) {
          // No container was made and none failed: no backoff, the next session may ask again at once.
          if (isCurrent()) this.state = this.everRan ? { name: "sleeping" } : { name: "idle" };
          throw error;
        }
        if (isCurrent()) {
          this.startFailures++;
          this.nextStartAt = this.clock() + startBackoffMs(this.startFailures);
          this.lastError = message;
          this.state = { name: "failed", error: message };
        }
        this.logger.warn(
          { instance: this.id, error: message, startFailures: this.startFailures, retryInMs: startBackoffMs(this.startFailures) },
          "Transcriber container failed to start",
        );
        throw new Error(`instance ${this.id} failed to start: ${message}`);
      },
    );
    ready.catch(() => undefined); // waiters see the rejection; nobody waiting is not an error
    this.state = { name: "starting", kind, ready, token };
  }

  private async stopRunning(container: RunningContainer, reason: string): Promise<void> {
    const done = this.driver.stop(container).catch((error: unknown) => {
      this.lastError = `stop failed: ${error instanceof Error ? error.message : String(error)}`;
    });
    this.state = { name: "stopping", done };
    await done;
    if (this.startedAt !== undefined && this.clock() - this.startedAt >= EARLY_CRASH_MS) this.startFailures = 0;
    this.startedAt = undefined;
    if (this.state.name === "stopping" && this.state.done === done) this.state = { name: "sleeping" };
    this.logger.info({ instance: this.id, container: container.id, reason }, "Transcriber container stopped");
  }

  private onExit(container: RunningContainer, info: ExitInfo): void {
    if (this.state.name !== "running" || this.state.container !== container) return;
    if (info.expected) return this.stoppedElsewhere(container, info);
    this.lastError = `container ${container.id} died: ${info.reason}`;
    const uptimeMs = this.startedAt === undefined ? 0 : this.clock() - this.startedAt;
    if (uptimeMs >= EARLY_CRASH_MS) this.startFailures = 0;
    else {
      this.startFailures++;
      this.nextStartAt = this.clock() + startBackoffMs(this.startFailures);
    }
    this.state = { name: "failed", error: this.lastError };
    this.startedAt = undefined;
    this.logger.info(
      { instance: this.id, container: container.id, reason: `crash: ${info.reason}`, exitCode: info.exitCode },
      "Transcriber container stopped",
    );
    for (const lease of this.leases) if (lease.containerId === container.id) lease.crash(info);
  }

  /**
   * Another gateway of the cluster stopped the container on purpose (sleep, scale-down): the instance sleeps,
   * as it would had this gateway stopped it, and sessions still on it are told to reconnect (1012).
   */
  private stoppedElsewhere(container: RunningContainer, info: ExitInfo): void {
    this.state = { name: "sleeping" };
    this.startedAt = undefined;
    this.logger.info({ instance: this.id, container: container.id, reason: info.reason }, "Transcriber container stopped");
    for (const lease of this.leases) if (lease.containerId === container.id) lease.crash(info);
  }

  private lease(container: RunningContainer, kind: StartKind, waitMs: number): Lease {
    this.connections++;
    this.lastActiveAt = this.clock();
    const lease = new InstanceLease(
      this.id,
      { host: container.host, port: container.port, socketPath: container.socketPath },
      container.id,
      kind,
      waitMs,
      (released) => {
        this.leases.delete(released);
        this.connections = Math.max(0, this.connections - 1);
        this.lastActiveAt = this.clock();
      },
    );
    this.leases.add(lease);
    return lease;
  }
}
