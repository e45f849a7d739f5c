/**
 * Composes the gateway: instance registry over a driver, routing strategy, routes, and the start/stop
 * sequence (sweep leftovers, listen; on shutdown refuse new sessions, drain open ones, stop containers).
 */
import { Elysia } from "elysia";
import { readFileSync } from "node:fs";
import type { ContainerDriver } from "../runtime/driver.ts";
import { InstanceRegistry } from "../runtime/instances.ts";
import type { GatewayConfig } from "./config.ts";
import { deepgramRoutes } from "./deepgram/routes.ts";
import { demoRoute } from "./demo/route.ts";
import { type EngineMonitor, watchEngine } from "./lifecycle/engine-monitor.ts";
import { httpRoutes } from "./http.ts";
import { listenRoute } from "./session/listen.ts";
import { watchTranscriberLoads } from "./lifecycle/load-monitor.ts";
import { TranscriberLoads } from "./session/load-refusal.ts";
import { restartFailedInstances } from "./lifecycle/recovery.ts";
import { createMetrics, type GatewayMetrics, metricsRoute } from "./metrics.ts";
import { reloadConfig, type ReloadResult } from "./reload/reload.ts";
import { tokenRoute } from "./security/token-route.ts";
import type { Logger } from "./log.ts";
import { CLOSE } from "./protocol.ts";
import { createRoutingStore } from "./cluster/index.ts";
import { ClusterMember } from "./cluster/member.ts";
import { createStrategy, type RoutingStore } from "./routing/index.ts";
import { GatewayState, strategyView } from "./state.ts";
import { StatusHub } from "./status/hub.ts";
import { statusRoutes } from "./status/routes.ts";
import { replenishSpares, startUpkeep, warmInBackground } from "./lifecycle/upkeep.ts";

export interface GatewayDeps {
  driver: ContainerDriver;
  logger: Logger;
  /** The routing store; default: the one ROUTING_STORE names (connected by start()). */
  store?: RoutingStore;
  /**
   * With ROUTING_STORE=redis: this gateway's membership of the cluster, whose driver (over `driver`) the
   * registry starts containers with. Default: one built from the configuration over `store` and `driver`.
   */
  cluster?: ClusterMember;
}

/** The environment every transcriber gets: the backend, the OpenAI settings, and the extra CA as content. */
export function transcriberEnv(config: GatewayConfig): Record<string, string> {
  const env: Record<string, string> = {
    TRANSCRIBER_BACKEND: config.transcriberBackend,
    TRANSCRIBE_MODEL: config.transcribeModel,
    LOG_LEVEL: config.logLevel,
  };
  // Its CPU cap: every backend's load report measures against it (a container capped below a core is full there).
  env.CONTAINER_CPUS = String(config.containerCpus);
  if (config.transcriberBackend === "local") {
    // The transcriber sizes its decoder pool from the container's caps unless told the count.
    env.CONTAINER_MEMORY = String(config.containerMemoryBytes);
    if (config.localMaxSessions !== undefined) env.LOCAL_MAX_SESSIONS = String(config.localMaxSessions);
  }
  if (config.openaiApiKey) env.OPENAI_API_KEY = config.openaiApiKey;
  if (config.openaiBaseUrl) env.OPENAI_BASE_URL = config.openaiBaseUrl;
  // Passed as content so no host path has to be mounted into the container.
  if (config.openaiCaFile) env.OPENAI_CA_PEM = readFileSync(config.openaiCaFile, "utf8");
  return env;
}

export class Gateway {
  readonly state: GatewayState;
  readonly app;
  private upkeepStop: (() => void) | undefined;
  private engineMonitor: EngineMonitor | undefined;
  private recoveryStop: (() => void) | undefined;
  private loadsStop: (() => void) | undefined;
  /** Who holds which instance; outlives the strategy, which a reload rebuilds over it. */
  private readonly store: RoutingStore;
  readonly metrics: GatewayMetrics;
  readonly status: StatusHub;

  constructor(
    config: GatewayConfig,
    private readonly deps: GatewayDeps,
  ) {
    this.store = deps.store ?? createRoutingStore(config, () => this.address());
    const cluster = deps.cluster ?? (config.routingStore === "redis" ? this.clusterMember(config, deps) : undefined);
    // Read at each container start, so a reload's transcriber settings reach the next container.
    const registry = new InstanceRegistry({
      driver: cluster?.driver ?? deps.driver,
      env: () => transcriberEnv(this.state.config),
      logger: deps.logger,
      startProblem: cluster ? (id) => cluster.startProblem(id) : undefined,
    });
    const loads = new TranscriberLoads(Date.now, () => this.state.config.hostCpuMax);
    const strategy = createStrategy(config, strategyView(registry, cluster, loads), this.store);
    this.state = new GatewayState(config, registry, strategy, deps.logger, deps.driver.name, this.store, cluster, loads);
    this.metrics = createMetrics(this.state);
    this.status = new StatusHub(this.state);
    this.app = new Elysia({
      websocket: { maxPayloadLength: config.maxFrameBytes, idleTimeout: 120, perMessageDeflate: false },
    })
      // Bad query parameters are 400 with the schema's one-line message (Elysia's default is a 422 JSON body).
      .onError(({ code, error }) => {
        if (code !== "VALIDATION") return;
        return new Response(`${error.customError ?? "invalid request parameters"}\n`, { status: 400 });
      })
      .use(httpRoutes(this.state))
      .use(statusRoutes(this.state, this.status))
      .use(metricsRoute(this.state, this.metrics))
      .use(listenRoute(this.state))
      .use(demoRoute())
      .use(tokenRoute(this.state))
      .use(deepgramRoutes(this.state));
  }

  /** The configuration now: a reload swaps in a new (frozen) object, so read it at use time. */
  get config(): Readonly<GatewayConfig> {
    return this.state.config;
  }

  private clusterMember(config: GatewayConfig, deps: GatewayDeps): ClusterMember {
    return new ClusterMember({
      url: config.redisUrl!,
      clusterName: config.gatewayName,
      gatewayId: config.gatewayId,
      inner: deps.driver,
      store: this.store,
      maxInstances: () => this.state.config.maxInstances,
      logger: deps.logger,
    });
  }

  /** `host:port` this gateway listens on, once it does. */
  private address(): string | null {
    const port = this.app.server?.port;
    return port === undefined ? null : `${this.config.host}:${port}`;
  }

  /**
   * Connects the routing store (a StoreUnavailableError naming REDIS_URL when Redis cannot be reached), sweeps
   * what a previous run left, prewarms what the strategy asks for, and listens. In a cluster there is no
   * sweep: peers may be using every container of the GATEWAY_NAME; the leader removes only what nobody claims.
   */
  async start(): Promise<{ port: number }> {
    await this.store.connect();
    const cluster = this.state.cluster;
    if (cluster) await cluster.connect();
    else {
      const swept = await this.deps.driver.sweep();
      if (swept > 0) this.deps.logger.info({ swept }, "removed containers left by a previous run");
    }
    this.app.listen({ port: this.config.port, hostname: this.config.host });
    this.upkeepStop = startUpkeep(this.state);
    this.engineMonitor = watchEngine(this.state, this.deps.driver);
    this.recoveryStop = restartFailedInstances(this.state);
    this.loadsStop = watchTranscriberLoads(this.state);
    if (this.state.runsUpkeep) for (const id of this.state.upkeep.prewarmIds()) warmInBackground(this.state, id, "prewarm");
    replenishSpares(this.state);
    return { port: this.app.server!.port! };
  }

  /**
   * Applies a new configuration (SIGHUP: the process environment plus CONFIG_FILE) without dropping a session:
   * see app/reload/reload.ts for what can change. A bad value keeps the running configuration.
   */
  reload(env: Record<string, string | undefined> | (() => Record<string, string | undefined>)): ReloadResult {
    return reloadConfig(
      {
        state: this.state,
        store: this.store,
        restartUpkeep: () => {
          if (!this.upkeepStop || this.state.draining) return;
          this.upkeepStop();
          this.upkeepStop = startUpkeep(this.state);
        },
      },
      env,
    );
  }

  /**
   * Refuses new sessions at once (readyz 503), asks every open session to flush (Relay.drain: finals, then
   * Error gateway_shutdown and 1001), waits up to DRAIN_TIMEOUT for them to end, closes the rest with 1001,
   * then stops every container. In a cluster with other live gateways it stops none: it gives up the upkeep
   * lease and leaves its containers to the leader's adoption; the last live gateway stops everything.
   */
  async shutdown(): Promise<void> {
    const state = this.state;
    if (state.draining) return;
    state.beginDraining();
    const leaving = state.cluster?.beginLeaving();
    this.upkeepStop?.();
    this.engineMonitor?.stop();
    this.recoveryStop?.();
    this.loadsStop?.();
    for (const relay of state.relays) relay.drain();
    const deadline = Date.now() + this.config.drainTimeoutMs;
    while (state.relays.size > 0 && Date.now() < deadline) await Bun.sleep(20);
    for (const relay of [...state.relays]) relay.fail(CLOSE.goingAway, "gateway_shutdown", "gateway is shutting down");
    state.links.closeAll();
    // Status page streams never end on their own: close them so the server can stop.
    this.status.close();
    this.metrics.unsubscribe();
    await this.app.stop();
    const cluster = state.cluster;
    await leaving;
    if (cluster && (await cluster.othersStay(this.config.drainTimeoutMs + 2000))) await cluster.leave();
    else {
      await cluster?.stopAll();
      await state.registry.shutdown();
    }
    await cluster?.close();
    // After the sessions ended, so their closes reach the store; then this gateway leaves the cluster.
    await this.store.close();
  }
}
