/**
 * A ContainerDriver over the real one that makes a cluster's gateways share containers: a start is first
 * claimed in the instance directory (directory.ts), so however many gateways race for one instance, one makes
 * the container and the others join it. The registry above it (runtime/instance.ts) keeps its single-flight
 * state union per gateway; this decides, per start, whether this gateway makes the container, waits for a peer's
 * start, or hands out a handle on a container a peer made.
 *
 * Fencing: each claim gets a fence, carried by the container as LABEL_FENCE. Completing a start and releasing a
 * record both name the fence and change nothing when it moved on, so a gateway that lost its claim can neither
 * install its container (it stops it and joins the winner) nor drop a newer container's record.
 */
import { hostname } from "node:os";
import {
  type ContainerDriver,
  type ContainerInfo,
  type ContainerSpec,
  LABEL_FENCE,
  LABEL_REPLICA,
  type RunningContainer,
  StartDeclinedError,
} from "../../runtime/driver.ts";
import { silentLogger, type RuntimeLogger } from "../../runtime/logger.ts";
import type { EngineHostsView } from "../../runtime/engine-hosts/view.ts";
import { StoreUnavailableError } from "../routing/store.ts";
import { ClusterHandles } from "./cluster-handles.ts";
import { WatchedContainers } from "./watched.ts";
import type { DirectoryRecord } from "./directory-copy.ts";
import type { ClaimAnswer, InstanceDirectory } from "./directory.ts";

export interface ClusterDriverOptions {
  inner: ContainerDriver;
  directory: InstanceDirectory;
  gatewayId: string;
  /** MAX_INSTANCES, read at each claim (a reload may change it). */
  maxInstances: () => number;
  /** How long a start may take, waiting for a peer's included; also when a peer's `starting` claim is stale. */
  startTimeoutMs?: number;
  /** This machine's name: a peer's Unix socket is used only when it was made here. */
  machine?: string;
  /** Between re-claims while a peer's start is in flight (a notice usually ends the wait sooner). */
  waitPollMs?: number;
  logger?: RuntimeLogger;
  clock?: () => number;
}

export class ClusterDriver implements ContainerDriver {
  readonly name: ContainerDriver["name"];
  readonly engineProblem?: () => Promise<string | undefined>;
  /** Several engine hosts: the real driver's hosts view (/stats `hosts`, placement refusals), passed through. */
  readonly engineHosts?: () => EngineHostsView;
  readonly startTimeoutMs: number;
  readonly machine: string;
  private readonly inner: ContainerDriver;
  private readonly directory: InstanceDirectory;
  private readonly gatewayId: string;
  private readonly waitPollMs: number;
  private readonly logger: RuntimeLogger;
  private readonly clock: () => number;
  /** The containers this gateway made or adopted: their own end releases their record. */
  private readonly watched: WatchedContainers;
  /** Handles given out: what stop() releases, and when each one's `exited` resolves. */
  private readonly handles: ClusterHandles;

  constructor(private readonly options: ClusterDriverOptions) {
    this.inner = options.inner;
    this.name = options.inner.name;
    this.directory = options.directory;
    this.gatewayId = options.gatewayId;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.machine = options.machine ?? hostname();
    this.waitPollMs = options.waitPollMs ?? 500;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
    if (options.inner.engineProblem) this.engineProblem = () => options.inner.engineProblem!();
    if (options.inner.engineHosts) this.engineHosts = () => options.inner.engineHosts!();
    this.watched = new WatchedContainers(this.directory);
    this.handles = new ClusterHandles(this.directory, this.machine, (record, own) => {
      if (this.watched.forget(record)) void this.inner.stop(own).catch(() => undefined);
    });
  }

  /** Claims the start; makes the container, joins a peer's start, or hands out a peer's running container. */
  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const id = spec.instanceId;
    const deadline = this.clock() + this.startTimeoutMs;
    let waited = false;
    for (;;) {
      const answer = await this.claim(id);
      if (answer.kind === "refused") {
        const max = this.options.maxInstances();
        throw new StartDeclinedError(`the cluster runs MAX_INSTANCES=${max} instances; retry later`, 5);
      }
      const { record } = answer;
      if (answer.kind === "claimed") {
        const made = await this.make(spec, record);
        if (made) return made;
        continue; // lost the claim meanwhile: join whoever holds it now
      }
      // Running at the first ask: a warm join; after waiting for a peer's start, the session waited for a start.
      if (record.state === "running") return this.handles.give(record, undefined, waited ? "starting" : "running");
      if (this.clock() >= deadline) {
        throw new Error(`instance ${id}: the start on gateway ${record.owner} did not finish within ${this.startTimeoutMs} ms`);
      }
      waited = true;
      await this.changeOf(record, Math.min(this.waitPollMs, deadline - this.clock()));
    }
  }

  /**
   * Releases the record (fenced), then stops the container: this gateway's own, or a peer's it holds a handle
   * on once the release succeeded (a failed or lost release leaves a peer's container to its holder).
   */
  async stop(container: RunningContainer): Promise<void> {
    const record = this.handles.take(container.id);
    if (!record) return this.inner.stop(container);
    const own = this.watched.forget(record);
    const released = await this.directory.release(record.instanceId, record.fence, "stopped", true).catch(() => false);
    if (own) await this.inner.stop(own);
    else if (released) await this.inner.remove(container.id);
  }

  /** Stops one instance for the cluster (the leader's sleep and scale-down): released only if idle everywhere. */
  async stopInstance(instanceId: string, reason: string): Promise<boolean> {
    const record = this.directory.get(instanceId);
    if (record?.state !== "running" || !record.containerId) return false;
    if (!(await this.directory.release(instanceId, record.fence, reason, true, "idle"))) return false;
    this.watched.forget(record);
    await this.inner.remove(record.containerId);
    this.logger.info({ instance: instanceId, container: record.containerId, reason }, "Transcriber container stopped");
    return true;
  }

  /** The leader takes over the watch of a dead gateway's running container. */
  async adoptRecord(record: DirectoryRecord, info: ContainerInfo): Promise<boolean> {
    const adopted = await this.directory.adopt(record.instanceId, record.fence);
    if (!adopted) return false;
    this.watched.watch(adopted, this.inner.adopt(info));
    return true;
  }

  /** Records of the containers this gateway watches (written back when Redis lost the directory). */
  heldRecords(): DirectoryRecord[] {
    return this.watched.records();
  }

  /** A record written back for a container found by its labels: this gateway watches it from now on. */
  holdRestored(record: DirectoryRecord, info: ContainerInfo): void {
    this.watched.watch(record, this.inner.adopt(info));
  }

  /** Stops watching without stopping anything (this gateway leaves; a peer adopts what it watched). */
  detach(): void {
    this.watched.clear();
  }

  list(): Promise<ContainerInfo[]> {
    return this.inner.list();
  }

  adopt(info: ContainerInfo): RunningContainer {
    return this.inner.adopt(info);
  }

  remove(id: string): Promise<void> {
    return this.inner.remove(id);
  }

  /** Never a blanket sweep in a cluster: the leader removes only what no record references (cluster-upkeep.ts). */
  async sweep(): Promise<number> {
    return 0;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** A claim, or while Redis is away the cached record of a running container (anything else is declined). */
  private async claim(id: string): Promise<ClaimAnswer> {
    const cached = (): ClaimAnswer => {
      const record = this.directory.get(id);
      if (record?.state === "running") return { kind: "existing", record };
      throw new StartDeclinedError(`cannot start ${id}: the cluster's routing store (Redis) is unavailable`, 2);
    };
    if (!this.directory.available) return cached();
    try {
      return await this.directory.claim(id, this.options.maxInstances(), this.startTimeoutMs);
    } catch (error) {
      if (error instanceof StoreUnavailableError) return cached();
      throw error;
    }
  }

  /** Makes the claimed container; undefined when the claim was lost meanwhile (the container is stopped). */
  private async make(spec: ContainerSpec, claim: DirectoryRecord): Promise<RunningContainer | undefined> {
    const { instanceId, fence } = claim;
    let container: RunningContainer;
    try {
      container = await this.inner.start({ ...spec, labels: { ...spec.labels, [LABEL_REPLICA]: this.gatewayId, [LABEL_FENCE]: fence } });
    } catch (error) {
      await this.directory.release(instanceId, fence, "start failed", true).catch(() => undefined);
      throw error;
    }
    const running: Omit<DirectoryRecord, "version"> = {
      instanceId,
      state: "running",
      fence,
      owner: this.gatewayId,
      claimedAtMs: claim.claimedAtMs,
      containerId: container.id,
      host: container.host,
      port: container.port,
      machine: this.machine,
      startedAtMs: this.clock(),
    };
    if (container.socketPath) running.socketPath = container.socketPath;
    if (container.hostName) running.hostName = container.hostName;
    const record = await this.directory.complete(running).catch(() => undefined);
    if (!record) {
      this.logger.info(
        { instance: instanceId, container: container.id, reason: "lost its claim while starting" },
        "Transcriber container stopped",
      );
      await this.inner.stop(container).catch(() => undefined);
      // Redis may not have answered at all: a claim still standing would hold peers off until it is stale.
      await this.directory.release(instanceId, fence, "start abandoned", true).catch(() => undefined);
      return undefined;
    }
    this.watched.watch(record, container);
    return this.handles.give(record, container);
  }

  /** Resolves when `record` (a peer's start in flight) changes, or after `timeoutMs`. */
  private changeOf(record: DirectoryRecord, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const off = this.directory.onChange((id, _before, after) => {
        if (id === record.instanceId && (after?.fence !== record.fence || after.state !== "starting")) finish();
      });
      const timer = setTimeout(() => finish(), Math.max(0, timeoutMs));
      const finish = () => {
        off();
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
