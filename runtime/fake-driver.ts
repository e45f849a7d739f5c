import type { ContainerDriver, ContainerInfo, ContainerSpec, ExitInfo, RunningContainer } from "./driver.ts";

/** A container of the fake driver; tests crash it with FakeDriver.crash(). */
export interface FakeContainer extends RunningContainer {
  readonly spec: ContainerSpec;
}

export interface FakeDriverOptions {
  /** Milliseconds each start takes (a real timer, so concurrent acquire() calls overlap). Default 5. */
  startDelayMs?: number;
}

/**
 * An in-memory ContainerDriver for lifecycle and gateway unit tests: no engine, no processes. It records every
 * start and stop, can hold starts open (`gate`), fail the next starts, and crash a running container.
 */
export class FakeDriver implements ContainerDriver {
  readonly name = "process" as const;
  /** Every spec passed to start(), in order. */
  readonly starts: ContainerSpec[] = [];
  /** Ids passed to stop(), in order. */
  readonly stops: string[] = [];
  /** Containers started and neither stopped nor crashed. */
  readonly running = new Map<string, FakeContainer>();
  /** Leftovers the next sweep() reports. */
  leftovers = 0;
  /** How many of the next starts reject. */
  failNextStarts = 0;
  startDelayMs: number;
  private nextId = 1;
  private nextPort = 40_000;
  private gateOpen: Promise<void> = Promise.resolve();
  private readonly settles = new Map<string, (info: ExitInfo) => void>();

  constructor(options: FakeDriverOptions = {}) {
    this.startDelayMs = options.startDelayMs ?? 5;
  }

  /** Holds every start until the returned function is called. */
  gate(): () => void {
    let open!: () => void;
    this.gateOpen = new Promise<void>((resolve) => (open = resolve));
    return open;
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    this.starts.push(spec);
    await this.gateOpen;
    await Bun.sleep(this.startDelayMs);
    if (this.failNextStarts > 0) {
      this.failNextStarts--;
      throw new Error(`fake driver: start of ${spec.instanceId} failed`);
    }
    const id = `fake-${this.nextId++}`;
    const container: FakeContainer = {
      id,
      host: "127.0.0.1",
      port: this.nextPort++,
      spec,
      exited: new Promise<ExitInfo>((resolve) => this.settles.set(id, resolve)),
    };
    this.running.set(id, container);
    return container;
  }

  async stop(container: RunningContainer): Promise<void> {
    this.stops.push(container.id);
    this.running.delete(container.id);
    this.settles.delete(container.id); // our own stop never resolves `exited`
  }

  /** Simulates the container dying on its own (kill, OOM). */
  crash(containerId: string, info: ExitInfo = { exitCode: 137, reason: "killed" }): void {
    this.running.delete(containerId);
    this.settles.get(containerId)?.(info);
    this.settles.delete(containerId);
  }

  async list(): Promise<ContainerInfo[]> {
    return [...this.running.values()].map((container) => ({
      id: container.id,
      instanceId: container.spec.instanceId,
      labels: { ...container.spec.labels },
      running: true,
      endpoint: { host: container.host, port: container.port },
      createdAtMs: 0,
    }));
  }

  /** A running fake container is its own handle; an unknown one gets a handle that only remove() ends. */
  adopt(info: ContainerInfo): RunningContainer {
    const known = this.running.get(info.id);
    if (known) return known;
    const container: FakeContainer = {
      id: info.id,
      host: info.endpoint?.host ?? "127.0.0.1",
      port: info.endpoint?.port ?? 0,
      spec: { instanceId: info.instanceId, env: {}, labels: info.labels },
      exited: new Promise<ExitInfo>((resolve) => this.settles.set(info.id, resolve)),
    };
    this.running.set(info.id, container);
    return container;
  }

  async remove(id: string): Promise<void> {
    const container = this.running.get(id);
    if (container) await this.stop(container);
  }

  async sweep(): Promise<number> {
    const count = this.leftovers;
    this.leftovers = 0;
    return count;
  }

  async close(): Promise<void> {
    for (const container of [...this.running.values()]) await this.stop(container);
  }
}
