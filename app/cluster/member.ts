/**
 * This gateway as a member of a cluster (ROUTING_STORE=redis): the instance directory, the cluster driver over
 * the real one, the upkeep lease (one leader per cluster runs sleep, scale-down, prewarm, spares, adoption and
 * the orphan sweep: cluster-upkeep.ts), and what leaving the cluster means.
 */
import type { ContainerDriver } from "../../runtime/driver.ts";
import type { InstanceRegistry } from "../../runtime/instances.ts";
import { silentLogger, type RuntimeLogger } from "../../runtime/logger.ts";
import type { RoutingStore } from "../routing/store.ts";
import { ClusterDriver } from "./cluster-driver.ts";
import { ClusterInstanceView } from "./cluster-view.ts";
import { InstanceDirectory } from "./directory.ts";
import { Membership } from "./membership.ts";

/** The lease is given up this long before its TTL ends, so two gateways never both lead. */
const LEASE_MARGIN_MS = 500;

export interface ClusterMemberOptions {
  url: string;
  clusterName: string;
  gatewayId: string;
  /** The real driver containers are made with. */
  inner: ContainerDriver;
  /** The cluster's routing store (loads, last changes, live gateways). */
  store: RoutingStore;
  maxInstances: () => number;
  logger?: RuntimeLogger;
  /** Directory poll and lease refresh. Default 500 ms. */
  pollMs?: number;
  /** The upkeep lease's TTL: how soon another gateway leads after the leader dies. Default 2,500 ms. */
  leaseTtlMs?: number;
  startTimeoutMs?: number;
  machine?: string;
  clock?: () => number;
}

export class ClusterMember {
  readonly directory: InstanceDirectory;
  /** The lease, the live gateways and the leaving marks. */
  private readonly membership: Membership;
  readonly driver: ClusterDriver;
  readonly gatewayId: string;
  readonly store: RoutingStore;
  readonly logger: RuntimeLogger;
  readonly clock: () => number;
  private readonly leaseTtlMs: number;
  /** Until when the lease is this gateway's for sure (ms epoch): a lease not refreshed runs out here too. */
  private leaseUntilMs = 0;
  private leaving = false;
  private instances: ClusterInstanceView | undefined;

  constructor(options: ClusterMemberOptions) {
    this.gatewayId = options.gatewayId;
    this.store = options.store;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
    this.leaseTtlMs = options.leaseTtlMs ?? 2500;
    this.directory = new InstanceDirectory({
      url: options.url,
      clusterName: options.clusterName,
      gatewayId: options.gatewayId,
      pollMs: options.pollMs,
      clock: options.clock,
    });
    this.membership = new Membership(this.directory);
    this.driver = new ClusterDriver({
      inner: options.inner,
      directory: this.directory,
      gatewayId: options.gatewayId,
      maxInstances: options.maxInstances,
      startTimeoutMs: options.startTimeoutMs,
      machine: options.machine,
      logger: options.logger,
      clock: options.clock,
    });
    this.directory.onBeat(() => this.keepLease());
    this.directory.onLost(() => void this.republish());
  }

  /** Whether this gateway holds the upkeep lease now. */
  get leading(): boolean {
    return !this.leaving && this.clock() < this.leaseUntilMs;
  }

  /** Connects the directory and tries for the lease (REDIS_URL named when Redis cannot be reached). */
  async connect(): Promise<void> {
    await this.directory.connect();
    await this.membership.mark(""); // a restart under the same GATEWAY_ID is not leaving
    await this.keepLease();
  }

  /** The instance view the strategies read (created once, over this gateway's registry). */
  view(registry: Pick<InstanceRegistry, "state" | "connections" | "runningCount">): ClusterInstanceView {
    this.instances ??= new ClusterInstanceView(registry, this.directory);
    return this.instances;
  }

  /**
   * Why a session for `instanceId` cannot be served now: only while Redis is away, and only when no container
   * of it is known to run (a start needs a claim); undefined otherwise.
   */
  startProblem(instanceId: string): string | undefined {
    if (this.directory.available && this.store.available) return undefined;
    if (this.directory.get(instanceId)?.state === "running") return undefined;
    return `the cluster's routing store (Redis) is unavailable: cannot start ${instanceId} now`;
  }

  /** The live gateways' ids: as Redis holds them now, or as last seen while it is away. */
  async liveGateways(): Promise<Set<string>> {
    const live = await this.membership.liveGateways().catch(() => undefined);
    const ids = live ? [...live.keys()] : this.store.gateways().map((gateway) => gateway.id);
    return new Set([...ids, this.gatewayId]);
  }

  /** Shutdown began: peers that stop at the same time then wait for this gateway's drain before stopping anything. */
  async beginLeaving(): Promise<void> {
    await this.membership.mark("draining").catch(() => undefined);
  }

  /**
   * This gateway drained its sessions: whether another live gateway stays in the cluster (then this one leaves its
   * containers to it). Peers draining too are waited for, up to `waitMs`, so when all of them stop at once the
   * containers are stopped once every drain is over, not left behind and not pulled from under a drain.
   */
  async othersStay(waitMs: number): Promise<boolean> {
    await this.membership.mark("drained").catch(() => undefined);
    const deadline = this.clock() + waitMs;
    for (;;) {
      const live = await this.membership.liveGateways().catch(() => undefined);
      if (!live) return !this.store.gateways().every((gateway) => gateway.id === this.gatewayId);
      const others = [...live].filter(([id]) => id !== this.gatewayId).map(([, mark]) => mark);
      if (others.some((mark) => mark === "")) return true;
      if (others.every((mark) => mark === "drained")) return false;
      if (this.clock() >= deadline) return true;
      await Bun.sleep(100);
    }
  }

  /**
   * Leaves the cluster without stopping what peers use: the lease is given up at once (another gateway leads
   * within a poll), and what this gateway watched is adopted by the leader once its presence is gone.
   */
  async leave(): Promise<void> {
    this.leaving = true;
    this.driver.detach();
    await this.membership.dropLease().catch(() => undefined);
  }

  /**
   * The last gateway stops: every container the directory knows is released and removed, then any other the
   * engine lists under this GATEWAY_NAME.
   */
  async stopAll(): Promise<void> {
    this.leaving = true;
    await this.directory.refresh().catch(() => undefined);
    await Promise.all(
      this.directory.records().map(async (record) => {
        await this.directory.release(record.instanceId, record.fence, "shutdown", true).catch(() => undefined);
        if (record.containerId) await this.driver.remove(record.containerId).catch(() => undefined);
      }),
    );
    // No gateway stays to serve or sweep what else the engine holds under this GATEWAY_NAME: a container a killed
    // gateway half made, or one the leader's sweep had not reached yet (it waits out a Redis restore window).
    const left = await this.driver.list().catch(() => []);
    await Promise.all(left.map((info) => this.driver.remove(info.id).catch(() => undefined)));
    if (left.length > 0)
      this.logger.info(
        { gateway: this.gatewayId, containers: left.map((info) => info.id) },
        "removed the containers no record named, as the last gateway out",
      );
    await this.membership.dropLease().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.directory.close();
  }

  /**
   * Takes or keeps the lease. It counts as held until its TTL, less a margin, from when it was asked for, so a
   * leader cut off from Redis stops leading before another gateway can take the lease over.
   */
  private async keepLease(): Promise<void> {
    if (this.leaving) return;
    const was = this.leading;
    const askedAtMs = this.clock();
    const held = await this.membership.lease(this.leaseTtlMs).catch(() => false);
    this.leaseUntilMs = held ? askedAtMs + this.leaseTtlMs - LEASE_MARGIN_MS : 0;
    if (was !== this.leading) {
      const msg = this.leading ? "leading the cluster's upkeep" : "no longer leading the cluster's upkeep";
      this.logger.info({ gateway: this.gatewayId }, msg);
    }
  }

  /** Redis lost the directory: the records of the containers this gateway watches are written back. */
  private async republish(): Promise<void> {
    for (const record of this.driver.heldRecords()) {
      const { version: _, ...rest } = record;
      await this.directory.restore(rest).catch(() => undefined);
    }
    this.logger.info(
      { gateway: this.gatewayId, records: this.driver.heldRecords().length },
      "wrote back the instance records this gateway holds",
    );
  }
}
