import type { ContainerDriver } from "./driver.ts";
import { Instance } from "./instance.ts";
import { silentLogger, type RuntimeLogger } from "./logger.ts";

export interface InstanceRegistryOptions {
  driver: ContainerDriver;
  /** Transcriber environment, read at each container start. */
  env?: () => Record<string, string>;
  logger?: RuntimeLogger;
  /** Milliseconds since the epoch; injected so the reaper is tested without waiting. */
  clock?: () => number;
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

  constructor(options: InstanceRegistryOptions) {
    this.driver = options.driver;
    this.env = options.env ?? (() => ({}));
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
  }

  /** The instance for `id`, created idle on first use. `id` must already be safe (never raw user input). */
  get(id: string): Instance {
    let instance = this.instances.get(id);
    if (!instance) {
      instance = new Instance({ id, driver: this.driver, env: this.env, logger: this.logger, clock: this.clock });
      this.instances.set(id, instance);
    }
    return instance;
  }

  /** Whether `id` was ever used, without creating it. */
  has(id: string): boolean {
    return this.instances.has(id);
  }

  list(): Instance[] {
    return [...this.instances.values()];
  }

  /**
   * Puts to sleep every running instance with no open session and no activity for longer than `sleepAfterMs`.
   * Resolves how many it put to sleep. Overlapping calls share one pass.
   */
  reapIdle(sleepAfterMs: number): Promise<number> {
    this.reaping ??= this.reapOnce(sleepAfterMs).finally(() => (this.reaping = undefined));
    return this.reaping;
  }

  private async reapOnce(sleepAfterMs: number): Promise<number> {
    const now = this.clock();
    const idle = this.list().filter(
      (instance) => instance.stateName === "running" && instance.connections === 0 && now - instance.lastActiveAt > sleepAfterMs,
    );
    await Promise.all(idle.map((instance) => instance.sleep()));
    // sleep() declines when a session arrived meanwhile: count only those that did go to sleep.
    return idle.filter((instance) => instance.stateName === "sleeping").length;
  }

  /**
   * Runs reapIdle(sleepAfterMs) every `everyMs` (default: a tenth of sleepAfterMs, between 1 s and 30 s).
   * Returns a function that stops it. The timer does not keep the process alive.
   */
  startReaper(sleepAfterMs: number, everyMs = Math.min(30_000, Math.max(1_000, sleepAfterMs / 10))): () => void {
    const timer = setInterval(() => {
      this.reapIdle(sleepAfterMs).catch((error: unknown) =>
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, "Idle reaper pass failed"),
      );
    }, everyMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Stops every instance (open sessions or not), then closes the driver. */
  async shutdown(): Promise<void> {
    await Promise.all(this.list().map((instance) => instance.stop("shutdown")));
    await this.driver.close();
  }
}
