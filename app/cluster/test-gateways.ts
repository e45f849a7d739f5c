/**
 * Test helper: several real gateways of one cluster in the test process, each with its own Redis routing store,
 * instance directory and registry, over one shared driver (one engine). The fast way to test the cluster's
 * behaviour; the multi-process ones run `bun app/main.ts` per gateway.
 */
import { loadConfig } from "../config.ts";
import { Gateway } from "../gateway.ts";
import { createLogger } from "../log.ts";
import type { ContainerDriver } from "../../runtime/driver.ts";
import { ClusterMember } from "./member.ts";
import { RedisRoutingStore } from "./redis-store.ts";
import { clusterName as freshClusterName } from "./test-stores.ts";

export interface ClusterGateway {
  id: string;
  gateway: Gateway;
  store: RedisRoutingStore;
  member: ClusterMember;
  logs: Array<Record<string, any>>;
  /** `ws://127.0.0.1:PORT/v1/listen` */
  listenUrl: string;
  /** What a SIGKILL looks like to the peers: no bye, no lease given up, heartbeats stop. */
  kill(): Promise<void>;
  killed: boolean;
}

export interface ClusterGatewaysOptions {
  /** One driver shared by every gateway (one engine), or one made per gateway (as separate processes would). */
  driver: ContainerDriver | ((gatewayId: string, clusterName: string) => ContainerDriver);
  /** More gateway environment (ROUTING_MODE, ...). */
  env?: Record<string, string>;
  /** Join an existing cluster instead of a fresh one. */
  clusterName?: string;
  /** First GATEWAY_ID index (gw-<first>..). */
  first?: number;
}

/** Starts `n` gateways gw-0..gw-<n-1> of one cluster on `url`; `stop()` shuts down those not killed. */
export async function startClusterGateways(url: string, n: number, options: ClusterGatewaysOptions) {
  const cluster = options.clusterName ?? freshClusterName();
  const gateways: ClusterGateway[] = [];
  for (let i = options.first ?? 0; i < (options.first ?? 0) + n; i++) gateways.push(await startOne(url, cluster, `gw-${i}`, options));
  return {
    cluster,
    gateways,
    /** The one holding the upkeep lease now, if any. */
    leader: () => gateways.find((g) => !g.killed && g.member.leading),
    stop: async () => {
      for (const g of gateways) if (!g.killed) await g.gateway.shutdown();
    },
  };
}

async function startOne(url: string, cluster: string, id: string, options: ClusterGatewaysOptions): Promise<ClusterGateway> {
  const config = loadConfig({
    ROUTING_STORE: "redis",
    REDIS_URL: url,
    GATEWAY_NAME: cluster,
    GATEWAY_ID: id,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    TRANSCRIBER_BACKEND: "echo",
    ...options.env,
  });
  const logs: Array<Record<string, any>> = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const store = new RedisRoutingStore({ url, clusterName: cluster, gatewayId: id, heartbeatMs: 200 });
  const driver = typeof options.driver === "function" ? options.driver(id, cluster) : options.driver;
  let gateway: Gateway | undefined;
  const member = new ClusterMember({
    url,
    clusterName: cluster,
    gatewayId: id,
    inner: driver,
    store,
    maxInstances: () => gateway!.state.config.maxInstances,
    logger,
    pollMs: 200,
  });
  gateway = new Gateway(config, { driver, logger, store, cluster: member });
  const { port } = await gateway.start();
  const started: ClusterGateway = {
    id,
    gateway,
    store,
    member,
    logs,
    listenUrl: `ws://127.0.0.1:${port}/v1/listen`,
    killed: false,
    kill: async () => {
      started.killed = true;
      store.halt();
      await member.directory.close();
      await gateway!.app.stop(true);
    },
  };
  return started;
}
