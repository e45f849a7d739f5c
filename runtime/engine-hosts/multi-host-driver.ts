/**
 * A ContainerDriver over several engine hosts (ENGINE_HOSTS): each start is placed on one host
 * (placement.ts), each host is checked every second (engine-host.ts), and list/adopt/remove span them all.
 * It is a plain driver: the cluster layer (ROUTING_STORE=redis) wraps it like any other.
 */
import type { ContainerDriver, ContainerInfo, ContainerSpec, RunningContainer } from "../driver.ts";
import type { ContainerLimits } from "../hardening.ts";
import { ImageMissingError, type ContainerNetwork } from "../podman-driver.ts";
import type { EngineHostSpec } from "./config.ts";
import { EngineHost, type HostsLogger } from "./engine-host.ts";
import { HostDriver } from "./host-driver.ts";
import { HostUnreachableError } from "./host-errors.ts";
import { chooseHost, NoHostAvailableError } from "./placement.ts";
import type { EngineHostsView, EngineHostStatus, PlacementRefusal } from "./view.ts";

export interface MultiHostDriverOptions {
  hosts: EngineHostSpec[];
  image?: string;
  gatewayName?: string;
  network?: ContainerNetwork;
  limits?: ContainerLimits;
  startupTimeoutMs?: number;
  logger?: HostsLogger;
  /** Time between host checks. Default 1 s: a lost host is noticed within about two. */
  checkIntervalMs?: number;
  /** One driver per host; injected by tests. Default: a HostDriver over dockerode. */
  hostDriver?: (spec: EngineHostSpec) => HostDriver;
}

const silent: HostsLogger = { info() {}, warn() {}, error() {} };

export class MultiHostDriver implements ContainerDriver, EngineHostsView {
  readonly name = "podman" as const;
  readonly hostList: EngineHost[];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MultiHostDriverOptions) {
    const logger = options.logger ?? silent;
    const make =
      options.hostDriver ??
      ((host: EngineHostSpec) =>
        new HostDriver({
          host,
          image: options.image,
          gatewayName: options.gatewayName,
          network: options.network,
          limits: options.limits,
          startupTimeoutMs: options.startupTimeoutMs,
          logger,
        }));
    this.hostList = options.hosts.map((spec) => new EngineHost(make(spec), logger));
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  private readonly checkIntervalMs: number;

  /**
   * Checks every host once (ping, image, drain marker, what runs there: a host without the image gets its
   * Error line now, at start-up), then every interval until close(). The timer does not keep the process up.
   */
  async open(): Promise<void> {
    await Promise.all(this.hostList.map((host) => host.check()));
    this.timer ??= setInterval(() => {
      for (const host of this.hostList) void host.check();
    }, this.checkIntervalMs);
    this.timer.unref?.();
  }

  engineHosts(): EngineHostsView {
    return this;
  }

  hosts(): EngineHostStatus[] {
    return this.hostList.map((host) => host.status());
  }

  hostOf(containerId: string): string | undefined {
    return this.hostList.find((host) => host.holds(containerId))?.name;
  }

  placementRefusal(instanceId: string): PlacementRefusal | undefined {
    try {
      chooseHost(this.candidates(), instanceId);
      return undefined;
    } catch (error) {
      if (!(error instanceof NoHostAvailableError)) throw error;
      return { message: error.message, retryAfterS: error.retryAfterS };
    }
  }

  private candidates() {
    return this.hostList.map((host) => ({
      name: host.name,
      placeable: host.placeable,
      running: host.running,
      limit: host.driver.host.limit,
    }));
  }

  private host(name: string | undefined): EngineHost | undefined {
    return this.hostList.find((host) => host.name === name);
  }

  /**
   * Places the instance (NoHostAvailableError when no host can take it) and starts it there. A host whose API
   * does not answer is checked at once (its loss is then known before the next tick) and the start placed again
   * without it, so a host that just died costs a reconnecting client one refused connection, not a failed start.
   */
  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const skipped = new Set<string>();
    for (;;) {
      const candidates = this.candidates().map((c) => (skipped.has(c.name) ? { ...c, placeable: false } : c));
      const host = this.host(chooseHost(candidates, spec.instanceId))!;
      try {
        return await host.driver.start(spec);
      } catch (error) {
        const cause = (error as Error).cause;
        // The image went away since the last check: stop placing there until it is back.
        if (cause instanceof ImageMissingError) host.imagePresent = false;
        if (!(cause instanceof HostUnreachableError)) throw error;
        skipped.add(host.name);
        void host.check();
        if (skipped.size === this.hostList.length) throw error;
      }
    }
  }

  async stop(container: RunningContainer): Promise<void> {
    const host = this.host(container.hostName) ?? this.hostList.find((h) => h.holds(container.id));
    if (host) return host.driver.stop(container);
    await this.remove(container.id);
  }

  /** Removes by id on the host known to hold it, else asks every host that answers (404 is not an error). */
  async remove(id: string): Promise<void> {
    const holder = this.hostList.find((host) => host.holds(id));
    const targets = holder ? [holder] : this.hostList.filter((host) => host.up);
    await Promise.all(targets.map((host) => host.driver.remove(id)));
  }

  /** Every host that answers; a host that is down is left out (its containers are lost with it). */
  async list(): Promise<ContainerInfo[]> {
    const lists = await Promise.all(this.hostList.map((host) => (host.up ? host.driver.list().catch(() => []) : [])));
    return lists.flat();
  }

  adopt(info: ContainerInfo): RunningContainer {
    const host = this.host(info.hostName);
    if (!host) throw new Error(`engine hosts: container ${info.id} (${info.instanceId}) names no known host (${info.hostName ?? "none"})`);
    return host.driver.adopt(info);
  }

  async sweep(): Promise<number> {
    const counts = await Promise.all(this.hostList.map((host) => (host.up ? host.driver.sweep().catch(() => 0) : 0)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.hostList.map((host) => host.driver.close()));
  }

  /** Undefined while at least one host answers; else one line naming every host and what is wrong. */
  async engineProblem(): Promise<string | undefined> {
    if (this.hostList.some((host) => host.up)) return undefined;
    return `no engine host answers (${this.hostList.map((host) => host.name).join(", ")})`;
  }
}
