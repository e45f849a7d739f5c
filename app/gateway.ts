/**
 * Composes the gateway: instance registry over a driver, routing strategy, routes, and the start/stop
 * sequence (sweep leftovers, listen; on shutdown refuse new sessions, drain open ones, stop containers).
 */
import { Elysia } from "elysia";
import { readFileSync } from "node:fs";
import type { ContainerDriver } from "../runtime/driver.ts";
import { InstanceRegistry } from "../runtime/instances.ts";
import type { GatewayConfig } from "./config.ts";
import { httpRoutes } from "./http.ts";
import { listenRoute } from "./listen.ts";
import type { Logger } from "./log.ts";
import { CLOSE } from "./protocol.ts";
import { createStrategy } from "./routing/index.ts";
import { GatewayState } from "./state.ts";
import { replenishSpares, startUpkeep, warmInBackground } from "./upkeep.ts";

export interface GatewayDeps {
  driver: ContainerDriver;
  logger: Logger;
}

/** The environment every transcriber gets: the backend, the OpenAI settings, and the extra CA as content. */
export function transcriberEnv(config: GatewayConfig): Record<string, string> {
  const env: Record<string, string> = {
    TRANSCRIBER_BACKEND: config.transcriberBackend,
    TRANSCRIBE_MODEL: config.transcribeModel,
    LOG_LEVEL: config.logLevel,
  };
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

  constructor(readonly config: GatewayConfig, private readonly deps: GatewayDeps) {
    const registry = new InstanceRegistry({ driver: deps.driver, env: () => transcriberEnv(config), logger: deps.logger });
    const strategy = createStrategy(config, registry);
    this.state = new GatewayState(config, registry, strategy, deps.logger, deps.driver.name);
    this.app = new Elysia({
      websocket: { maxPayloadLength: config.maxFrameBytes, idleTimeout: 120, perMessageDeflate: false },
    })
      // Bad query parameters are 400 with the schema's one-line message (Elysia's default is a 422 JSON body).
      .onError(({ code, error }) => {
        if (code !== "VALIDATION") return;
        return new Response(`${error.customError ?? "invalid request parameters"}\n`, { status: 400 });
      })
      .use(httpRoutes(this.state))
      .use(listenRoute(this.state));
  }

  /** Sweeps what a previous run left, prewarms what the strategy asks for, and listens. */
  async start(): Promise<{ port: number }> {
    const swept = await this.deps.driver.sweep();
    if (swept > 0) this.deps.logger.info({ swept }, "removed containers left by a previous run");
    this.app.listen({ port: this.config.port, hostname: this.config.host });
    this.upkeepStop = startUpkeep(this.state);
    for (const id of this.state.strategy.prewarmIds()) warmInBackground(this.state, id, "prewarm");
    replenishSpares(this.state);
    return { port: this.app.server!.port! };
  }

  /**
   * Refuses new sessions at once (readyz 503), asks every open session to flush (CloseStream), waits up to
   * DRAIN_TIMEOUT for them to end, closes the rest with 1001, then stops every container.
   */
  async shutdown(): Promise<void> {
    const state = this.state;
    if (state.draining) return;
    state.draining = true;
    this.upkeepStop?.();
    for (const relay of state.relays) relay.sendUpstream('{"type":"CloseStream"}');
    const deadline = Date.now() + this.config.drainTimeoutMs;
    while (state.relays.size > 0 && Date.now() < deadline) await Bun.sleep(20);
    for (const relay of [...state.relays]) relay.fail(CLOSE.goingAway, "gateway_shutdown", "gateway is shutting down");
    await this.app.stop();
    await state.registry.shutdown();
  }
}
