import type { ContainerDriver } from "./driver.ts";
import { Instance } from "./instance.ts";
import { type InstanceStateName, isLive } from "./instance-state.ts";
import { silentLogger, type RuntimeLogger } from "./logger.ts";

export type StateListener = (instance: Instance, from: InstanceStateName, to: InstanceStateName) => void;

export interface InstanceRegistryOptions {
  driver: ContainerDriver;
  /** Transcriber environment, read at each container start. */
  env?: () => Record<string, string>;
  logger?: RuntimeLogger;
  /** Milliseconds since the epoch; injected so the reaper is tested without waiting. */
  clock?: () => number;
  /**
   * Why no container of `id` could be started now although the engine answers (a cluster whose shared store is
   * away), else undefined; the listen route refuses such a session before the upgrade.
   */
  startProblem?: (id: string) => string | undefined;
}

/**
 * Every instance identity the gateway has used, keyed by id, plus the idle reaper and shutdown. Routing
 * strategies decide which id; this decides nothing, it only keeps them.
 */
export class InstanceRegistry {
  readonly driver: ContainerDriver;
  private readonly instances = new Map<string, Instance>();
  private readonly env: () => Record<string, string>;
  private readonly logger: RuntimeLogger;
  private readonly clock: () => number;
  private reaping: Promise<number> | undefined;
  /** Instances starting or running, kept on every transition: routing reads it on every decision. */
  private live = 0;
  private readonly listeners = new Set<StateListener>();
  private readonly startProblemOf: ((id: string) => string | undefined) | undefined;

  constructor(options: InstanceRegistryOptions) {
    this.driver = options.driver;
    this.startProblemOf = options.startProblem;
    this.env = options.env ?? (() => ({}));
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
  }

  /** The instance for `id`, created idle on first use. `id` must already be safe (never raw user input). */
  get(id: string): Instance {
    let instance = this.instances.get(id);
    if (!instance) {
      instance = new Instance({
        id,
        driver: this.driver,
        env: this.env,
        logger: this.logger,
        clock: this.clock,
        onStateChange: (changed, from, to) => {
          this.live += Number(isLive(to)) - Number(isLive(from));
          for (const listener of this.listeners) listener(changed, from, to);
        },
      });
      this.instances.set(id, instance);
    }
    return instance;
  }

  /** Calls `listener` on every state change of every instance; returns a function that unsubscribes. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Why `id` could not be started now (see InstanceRegistryOptions.startProblem), else undefined. */
  startProblem(id: string): string | undefined {
    return this.startProblemOf?.(id);
  }

  /** Whether `id` was ever used, without creating it. */
  has(id: string): boolean {
    return this.instances.has(id);
  }

  list(): Instance[] {
    return [...this.instances.values()];
  }

  /** The state of `id`, or undefined when it was never used (routing's InstanceView). */
  state(id: string): InstanceStateName | undefined {
    return this.instances.get(id)?.stateName;
  }

  /** Open sessions on `id` (routing's InstanceView). */
  connections(id: string): number {
    return this.instances.get(id)?.connections ?? 0;
  }

  /** Instances starting or running; O(1) (routing's InstanceView). */
  runningCount(): number {
    return this.live;
  }

  /**
   * Puts to sleep every running instance with no open session and no activity for longer than `sleepAfterMs`.
   * `keepAwake` exempts instances the routing wants up regardless (autoscale's minimum, unclaimed spares).
   * Resolves how many it put to sleep. Overlapping calls share one pass.
   */
  reapIdle(sleepAfterMs: number, keepAwake: (id: string) => boolean = () => false): Promise<number> {
    this.reaping ??= this.reapOnce(sleepAfterMs, keepAwake).finally(() => (this.reaping = undefined));
    return this.reaping;
  }

  private async reapOnce(sleepAfterMs: number, keepAwake: (id: string) => boolean): Promise<number> {
    const now = this.clock();
    const idle = this.list().filter(
      (instance) =>
        instance.stateName === "running" &&
        instance.connections === 0 &&
        now - instance.lastActiveAt > sleepAfterMs &&
        !keepAwake(instance.id),
    );
    await Promise.all(idle.map((instance) => instance.sleep()));
    // sleep() declines when a session arrived meanwhile: count only those that did go to sleep.
    return idle.filter((instance) => instance.stateName === "sleeping").length;
  }

  /** Stops every instance (open sessions or not), then closes the driver. */
  async shutdown(): Promise<void> {
    await Promise.all(this.list().map((instance) => instance.stop("shutdown")));
    await this.driver.close();
  }
}
