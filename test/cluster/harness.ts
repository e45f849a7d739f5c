/**
 * A cluster of gateways on the real engine, for fault tests and the soak: one private redis-server, N gateway
 * child processes (one GATEWAY_NAME, ROUTING_STORE=redis, distinct GATEWAY_IDs and ports, the Podman driver on
 * the host network) and HAProxy round-robin in front. Gateways can be SIGKILLed, SIGTERMed and restarted on their
 * own port (so the proxy finds them again), Redis killed and restarted empty; the engine's labelled containers and
 * every gateway's /stats can be read. `stop()` ends only what this harness started, by pid, and removes the
 * cluster's containers, saying how many were left for it to remove.
 */
import { type GatewayProcess, spawnGateway } from "../../app/faults/gateway-process.ts";
import { LABEL_GATEWAY, LABEL_INSTANCE, LABEL_MANAGED, LABEL_REPLICA } from "../../runtime/driver.ts";
import { freePort } from "../../runtime/free-port.ts";
import type { Standin } from "../../standin/server.ts";
import { type FrontProxy, startFrontProxy } from "../haproxy.ts";
import { podman } from "../podman.ts";
import { startRedis, type TestRedis } from "../redis.ts";

export interface ClusterOptions {
  /** Gateways in the cluster (default 3), named gw-a, gw-b, ... */
  size?: number;
  /** GATEWAY_NAME (1-31 of [a-z0-9-]); default: unique per process and cluster. */
  name?: string;
  /** Routing and lifecycle variables every gateway gets (ROUTING_MODE, SLEEP_AFTER, ...). */
  env?: Record<string, string>;
  /** Transcribers talk to this realtime stand-in; without it they run the echo backend. */
  standin?: Standin;
}

/** A labelled container of the cluster, as the engine lists it. */
export interface EngineContainer {
  id: string;
  name: string;
  /** LABEL_INSTANCE: the instance id it serves. */
  instance: string;
  /** LABEL_REPLICA: the GATEWAY_ID that started it (undefined before the driver set it). */
  replica: string | undefined;
  running: boolean;
}

let clusters = 0;

/**
 * The engine's view of containers labelled with `gatewayName` (what `podman ps -a` shows an operator), read through
 * the engine API on DOCKER_HOST: a few milliseconds, where the CLI takes a few hundred, so samplers see short-lived ones.
 */
export async function clusterContainers(gatewayName: string): Promise<EngineContainer[]> {
  const socket = (process.env.DOCKER_HOST ?? "").replace(/^unix:\/\//, "");
  if (!socket) throw new Error("DOCKER_HOST is not set: the cluster harness needs the engine (see test/engine.ts)");
  const filters = JSON.stringify({ label: [`${LABEL_MANAGED}=true`, `${LABEL_GATEWAY}=${gatewayName}`] });
  const response = await fetch(`http://engine/containers/json?all=true&filters=${encodeURIComponent(filters)}`, { unix: socket });
  if (!response.ok) throw new Error(`engine: list containers: ${response.status} ${await response.text()}`);
  const rows = (await response.json()) as Array<{ Id: string; Names: string[]; Labels: Record<string, string> | null; State: string }>;
  return rows.map((row) => ({
    id: row.Id,
    name: (row.Names[0] ?? row.Id).replace(/^\//, ""),
    instance: row.Labels?.[LABEL_INSTANCE] ?? "",
    replica: row.Labels?.[LABEL_REPLICA],
    running: row.State === "running",
  }));
}

export class TestCluster {
  private readonly members = new Map<string, GatewayProcess>();
  /** Every gateway process this harness started, killed and restarted ones included, oldest first. */
  readonly history: Array<{ id: string; process: GatewayProcess }> = [];

  private constructor(
    /** GATEWAY_NAME of every gateway: the engine's label for the cluster's containers. */
    readonly name: string,
    readonly redis: TestRedis,
    readonly proxy: FrontProxy,
    /** Each GATEWAY_ID's port, kept across restarts. */
    private readonly ports: ReadonlyMap<string, number>,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts Redis, the gateways (in parallel) and HAProxy over them; on a failure stops what did start. */
  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const size = options.size ?? 3;
    const name = options.name ?? `cl-${process.pid}-${++clusters}`;
    const ids = Array.from({ length: size }, (_, i) => `gw-${String.fromCharCode(97 + i)}`);
    const ports = new Map<string, number>();
    for (const id of ids) ports.set(id, await freePort());
    const redis = await startRedis();
    const transcriberEnv: Record<string, string> = options.standin
      ? { OPENAI_API_KEY: "test-key", OPENAI_BASE_URL: options.standin.baseUrl, OPENAI_CA_FILE: options.standin.caFile }
      : { TRANSCRIBER_BACKEND: "echo" };
    const env = {
      CONTAINER_DRIVER: "podman",
      CONTAINER_NETWORK: "host",
      DRAIN_TIMEOUT: "5s",
      ...transcriberEnv,
      ...options.env,
      ROUTING_STORE: "redis",
      REDIS_URL: redis.url,
      GATEWAY_NAME: name,
    };
    let proxy: FrontProxy | undefined;
    const spawned = await Promise.allSettled(ids.map((id) => spawnGateway({ ...env, GATEWAY_ID: id }, { port: ports.get(id)! })));
    try {
      const failed = spawned.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      proxy = await startFrontProxy(ids.map((id) => ({ name: id, port: ports.get(id)! })));
    } catch (error) {
      for (const s of spawned) if (s.status === "fulfilled") s.value.kill("SIGKILL");
      await Promise.all(spawned.map((s) => (s.status === "fulfilled" ? s.value.exited : undefined)));
      await redis.stop();
      await removeContainers(name);
      throw error;
    }
    const cluster = new TestCluster(name, redis, proxy, ports, env);
    ids.forEach((id, i) => cluster.members.set(id, (spawned[i] as PromiseFulfilledResult<GatewayProcess>).value));
    for (const [id, gateway] of cluster.members) cluster.history.push({ id, process: gateway });
    return cluster;
  }

  /** Every GATEWAY_ID of the cluster, running or not. */
  get ids(): string[] {
    return [...this.ports.keys()];
  }

  /** GATEWAY_IDs whose process is running now. */
  get runningIds(): string[] {
    return this.ids.filter((id) => this.members.has(id));
  }

  /** `ws://127.0.0.1:PORT/v1/listen` of HAProxy. */
  get listenUrl(): string {
    return this.proxy.listenUrl;
  }

  /** The running process of gateway `id`; throws when it is down. */
  gateway(id: string): GatewayProcess {
    const gateway = this.members.get(id);
    if (!gateway) throw new Error(`gateway ${id} is not running`);
    return gateway;
  }

  /** SIGKILLs gateway `id` and waits for it to exit. */
  async sigkill(id: string): Promise<void> {
    const gateway = this.gateway(id);
    this.members.delete(id);
    gateway.kill("SIGKILL");
    await gateway.exited;
  }

  /** SIGTERMs gateway `id` (it drains) and resolves with its exit code once it exited. */
  async sigterm(id: string): Promise<number> {
    const gateway = this.gateway(id);
    gateway.kill("SIGTERM");
    const code = await gateway.exited;
    this.members.delete(id);
    return code;
  }

  /** Starts gateway `id` again on its own port with the cluster's environment; resolves once it listens. */
  async restart(id: string): Promise<GatewayProcess> {
    if (this.members.has(id)) throw new Error(`gateway ${id} is still running`);
    const gateway = await spawnGateway({ ...this.env, GATEWAY_ID: id }, { port: this.ports.get(id)! });
    this.members.set(id, gateway);
    this.history.push({ id, process: gateway });
    return gateway;
  }

  /** Every running gateway's /stats, by GATEWAY_ID. */
  async stats(): Promise<Record<string, any>> {
    const ids = this.runningIds;
    const docs = await Promise.all(ids.map((id) => this.gateway(id).stats()));
    return Object.fromEntries(ids.map((id, i) => [id, docs[i]]));
  }

  /** The cluster's containers on the engine; only running ones with `running`. */
  async containers(options: { running?: boolean } = {}): Promise<EngineContainer[]> {
    const all = await clusterContainers(this.name);
    return options.running ? all.filter((c) => c.running) : all;
  }

  /**
   * SIGTERMs every running gateway (SIGKILL if one is not gone within its drain plus 10 s), stops HAProxy and
   * Redis, then removes the cluster's containers. Resolves with the containers that were left for it to remove.
   */
  async stop(): Promise<{ leftover: EngineContainer[] }> {
    const running = [...this.members.values()];
    this.members.clear();
    for (const gateway of running) gateway.kill("SIGTERM");
    await Promise.all(
      running.map(async (gateway) => {
        const timer = setTimeout(() => gateway.kill("SIGKILL"), 15_000);
        await gateway.exited;
        clearTimeout(timer);
      }),
    );
    await this.proxy.stop();
    await this.redis.stop();
    return { leftover: await removeContainers(this.name) };
  }
}

/** Removes every container labelled `gatewayName`; resolves with those there were. */
async function removeContainers(gatewayName: string): Promise<EngineContainer[]> {
  const left = await clusterContainers(gatewayName);
  if (left.length > 0) await podman("rm", "-f", "-t", "0", ...left.map((c) => c.id)).catch(() => undefined);
  return left;
}
