/**
 * One engine host as the multi-host driver sees it: its driver, and the verdicts of its last check (up or
 * lost, image present, drained, how many of the cluster's containers run there). A check pings the engine;
 * when the ping fails, the host's containers are probed on /health, and those that do not answer either are
 * lost with the host: their `exited` resolves naming it. Containers that still answer keep running (an API
 * restart is not a host loss), but nothing new is placed there until the engine answers again.
 */
import { isHealthy } from "../health.ts";
import type { RuntimeLogger } from "../logger.ts";
import { isDrained } from "./drain.ts";
import { within } from "./engine-calls.ts";
import type { HostDriver } from "./host-driver.ts";
import type { EngineHostStatus } from "./view.ts";

/** A logger with error lines (a host without the image is an operator's error, not a warning). */
export interface HostsLogger extends RuntimeLogger {
  error(obj: object, msg: string): void;
}

/** How long one engine ping or container health probe may take within a check (a check runs every ~1 s). */
export const PROBE_TIMEOUT_MS = 600;
/**
 * Most the calls after a good ping may take together (a host that froze just after answering it). With the ping's
 * and the probes' deadlines it bounds a check to 2.7 s, so a host that froze mid-check is still lost within 3 s.
 */
const CHECK_CALLS_TIMEOUT_MS = 1500;

export class EngineHost {
  up = false;
  /** Undefined until the first check could ask. */
  imagePresent: boolean | undefined;
  drained = false;
  /** When it was last seen going down (ms epoch); undefined while up. */
  private downSinceMs: number | undefined = Date.now();
  private everUp = false;
  /** The warning for the current outage was logged (also for a host down at start-up). */
  private downLogged = false;
  private listed = new Set<string>();
  private checking: Promise<void> | undefined;

  constructor(
    readonly driver: HostDriver,
    private readonly logger: HostsLogger,
    private readonly clock: () => number = Date.now,
  ) {}

  get name(): string {
    return this.driver.host.name;
  }

  /** Up, has the image, not drained: new instances may go here. */
  get placeable(): boolean {
    return this.up && this.imagePresent === true && !this.drained;
  }

  /** The cluster's instances on this host: what its last list showed, plus this gateway's own starts since. */
  get running(): number {
    return new Set([...this.listed, ...this.driver.ownIds()]).size + this.driver.reserving;
  }

  /** Whether container `id` was seen here (own start, adopted, or listed). */
  holds(id: string): boolean {
    return this.listed.has(id) || this.driver.ownIds().includes(id);
  }

  status(): EngineHostStatus {
    const { name, endpoint, limit } = this.driver.host;
    return {
      name,
      endpoint,
      up: this.up,
      running: this.running,
      limit: limit ?? null,
      imagePresent: this.imagePresent ?? null,
      drained: this.drained,
      placeable: this.placeable,
    };
  }

  /** One check (shared with any in flight). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const problem = await this.driver.engineProblem(PROBE_TIMEOUT_MS);
    if (problem) return this.unreachable(problem);
    try {
      const rejoining = this.downSinceMs !== undefined && this.everUp;
      const downSinceMs = this.downSinceMs ?? 0;
      const [listed, imagePresent, drained] = await within(
        Promise.all([this.driver.list(), this.driver.hasImage(), isDrained(this.driver)]),
        CHECK_CALLS_TIMEOUT_MS,
        "list, image and drain check",
      );
      this.listed = new Set(listed.filter((info) => info.running).map((info) => info.id));
      this.noteImage(imagePresent);
      if (drained !== this.drained)
        this.logger.info({ host: this.name, drained }, drained ? "engine host drained: no new placements" : "engine host undrained");
      this.drained = drained;
      if (rejoining) {
        // What this gateway gave up with the host (started elsewhere since), and what of the cluster's died there
        // before it went away. Another gateway's running container is its own (an API outage must not cost its
        // sessions), and one created since may be another gateway's start in flight.
        const own = new Set(this.driver.ownIds());
        const dead = (info: (typeof listed)[number]) => !info.running && info.createdAtMs < downSinceMs;
        const leftovers = listed.filter((info) => !own.has(info.id) && (this.driver.lostIds.has(info.id) || dead(info)));
        await Promise.all(leftovers.map((info) => this.driver.remove(info.id)));
        for (const info of leftovers) this.listed.delete(info.id);
        const present = new Set(listed.map((info) => info.id));
        for (const id of this.driver.lostIds) if (!present.has(id)) this.driver.lostIds.delete(id);
        this.logger.info({ host: this.name, swept: leftovers.length }, "engine host rejoined");
      }
      this.everUp = true;
      this.downLogged = false;
      this.downSinceMs = undefined;
      this.up = true;
    } catch (error) {
      await this.unreachable(`engine host ${this.name} failed a check: ${(error as Error).message}`);
    }
  }

  private noteImage(present: boolean): void {
    const image = this.driver.image;
    if (!present && this.imagePresent !== false) {
      this.logger.error(
        { host: this.name, image },
        `engine host ${this.name} does not have the image ${image}: no instance is placed there until it has it`,
      );
    } else if (present && this.imagePresent === false) {
      this.logger.info({ host: this.name, image }, "engine host has the image now: placing instances there");
    }
    this.imagePresent = present;
  }

  private async unreachable(problem: string): Promise<void> {
    if (this.up || this.downSinceMs === undefined) this.downSinceMs = this.clock();
    if (!this.downLogged) this.logger.warn({ host: this.name, problem }, "engine host not answering: no new placements there");
    this.downLogged = true;
    this.up = false;
    // The engine is silent: are its containers too? Those that do not answer are lost with the host.
    const handles = this.driver.handles();
    const answers = await Promise.all(handles.map((h) => isHealthy(`http://${h.host}:${h.port}/health`, PROBE_TIMEOUT_MS)));
    handles.forEach((handle, i) => {
      if (!answers[i]) this.driver.lose(handle.id, `engine host ${this.name} lost: ${problem}`);
    });
  }
}
