/**
 * Watches the container engine's API. While it does not answer, the gateway stays up, /readyz says why, and
 * sessions that need a container start are refused with 503 + Retry-After (sessions on running containers go
 * on). When it answers again, service resumes by itself: within one poll interval plus one ping timeout.
 */
import type { ContainerDriver } from "../../runtime/driver.ts";
import type { GatewayState } from "../state.ts";
import { replenishSpares, warmInBackground } from "./upkeep.ts";

export interface EngineMonitorOptions {
  /** Undefined when the engine answers, else what is wrong (ContainerDriver.engineProblem). */
  probe: () => Promise<string | undefined>;
  /** Called on every change: the problem text when the engine went away, undefined when it is back. */
  onChange: (problem: string | undefined) => void;
  /** Time between probes; a probe in flight is never overlapped. Default 1 s. */
  intervalMs?: number;
}

export class EngineMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private probing: Promise<void> | undefined;
  /** The current problem, or undefined while the engine answers. */
  problem: string | undefined;

  constructor(private readonly options: EngineMonitorOptions) {}

  /** Probes now and then every interval, until stop(). The timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 1000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One probe (shared with any in flight); resolves once its verdict is applied. */
  check(): Promise<void> {
    this.probing ??= this.options
      .probe()
      .catch((error: unknown) => `container engine probe failed: ${(error as Error).message}`)
      .then((problem) => {
        if (problem === this.problem) return;
        this.problem = problem;
        this.options.onChange(problem);
      })
      .finally(() => (this.probing = undefined));
    return this.probing;
  }
}

/**
 * Starts an EngineMonitor for the gateway when its driver has an engine to lose. On an outage it sets
 * the gateway's engine problem (readyz, admission); on return it clears it, forgets start failures the outage caused
 * and restarts what should run without a session (prewarm, spares).
 */
export function watchEngine(state: GatewayState, driver: ContainerDriver, intervalMs?: number): EngineMonitor | undefined {
  if (!driver.engineProblem) return undefined;
  const monitor = new EngineMonitor({
    probe: () => driver.engineProblem!(),
    intervalMs,
    onChange: (problem) => {
      state.engineChanged(problem);
      if (problem) return state.log.warn({ problem }, "container engine unavailable: refusing sessions that need a container start");
      state.log.info("container engine answers again: resuming");
      for (const instance of state.registry.list()) instance.resetStartBackoff();
      for (const id of state.upkeep.prewarmIds()) warmInBackground(state, id, "prewarm");
      replenishSpares(state);
    },
  });
  monitor.start();
  return monitor;
}
