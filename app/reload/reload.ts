/**
 * Configuration reload (SIGHUP): parse the new environment, apply what can change while sessions are open,
 * and keep the rest. A new frozen configuration (the running one with the applied keys replaced) is swapped
 * into the gateway's state, whose readers (routes, the transcriber environment, shutdown) read it at use time;
 * the routing strategy is rebuilt for it over the same RoutingStore, so sessions opened before the reload keep their instance and
 * their close still reaches the counts. Pool members a shrink removes get no new session and sleep once empty.
 * A bad value changes nothing: the one-line error is logged and the old configuration stays.
 */
import { ConfigError, type GatewayConfig, loadConfig } from "../config.ts";
import { createStrategy, type RoutingStore } from "../routing/index.ts";
import { indexOf, poolMemberIds } from "../routing/instance-ids.ts";
import type { GatewayState } from "../state.ts";
import { replenishSpares, warmInBackground } from "../lifecycle/upkeep.ts";

type Env = Record<string, string | undefined>;

/**
 * Keys a reload applies. Everything else (PORT, HOST, ROUTING_MODE, CONTAINER_DRIVER, CONTAINER_NETWORK,
 * GATEWAY_NAME, MAX_FRAME_BYTES, container limits, client security settings) is fixed at start: a change is
 * logged as ignored. The transcriber settings reach containers started after the reload.
 */
export const RELOADABLE_KEYS: ReadonlySet<string> = new Set<keyof GatewayConfig>([
  "containerPoolSize",
  "maxInstances",
  "sleepAfterMs",
  "maxConnectionsPerContainer",
  "minContainers",
  "scaleDownAfterMs",
  "poolPrewarm",
  "poolBalanceFactor",
  "warmSpares",
  "backpressureLimitBytes",
  "hostCpuMax",
  "drainTimeoutMs",
  "maxSessions",
  "logLevel",
  "adminToken",
  "openaiApiKey",
  "openaiBaseUrl",
  "transcribeModel",
  "openaiCaFile",
  "transcriberBackend",
]);

/** Keys whose change means the routing strategy is rebuilt (and the upkeep timer re-timed). */
const UPKEEP_KEYS = new Set(["sleepAfterMs", "scaleDownAfterMs"]);

/** Config keys whose environment name is not simply the key in UPPER_SNAKE_CASE. */
const ENV_NAMES: Record<string, string> = {
  sleepAfterMs: "SLEEP_AFTER",
  scaleDownAfterMs: "SCALE_DOWN_AFTER",
  drainTimeoutMs: "DRAIN_TIMEOUT",
  tokenTtlMs: "TOKEN_TTL",
  containerMemoryBytes: "CONTAINER_MEMORY",
};

/** The environment variable behind a config key, for log lines an operator can act on. */
export function envName(key: string): string {
  return ENV_NAMES[key] ?? key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export type ReloadResult = { ok: true; changed: string[]; ignored: string[] } | { ok: false; error: string };

/** What the reload needs from the gateway. */
export interface ReloadTarget {
  state: GatewayState;
  store: RoutingStore;
  /** Re-times the upkeep loop after SLEEP_AFTER or SCALE_DOWN_AFTER changed. */
  restartUpkeep(): void;
}

/** The entries of `config` under `keys`. */
function pick(config: GatewayConfig, keys: readonly string[]): Partial<GatewayConfig> {
  return Object.fromEntries(keys.map((key) => [key, config[key as keyof GatewayConfig]]));
}

/** Which keys differ between two configurations (values compared as JSON: arrays and rates too). */
export function changedKeys(current: GatewayConfig, next: GatewayConfig): string[] {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]);
  const a = current as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Applies the configuration `source` yields (an environment, or a function that reads one) to the gateway. */
export function reloadConfig(target: ReloadTarget, source: Env | (() => Env)): ReloadResult {
  const { state } = target;
  const current = state.config;
  let next: GatewayConfig;
  let changed: string[];
  try {
    // A generated GATEWAY_ID is this process's for good: parse with it unless the environment names one.
    const given = typeof source === "function" ? source() : source;
    const env = { ...given, GATEWAY_ID: given.GATEWAY_ID || current.gatewayId };
    next = loadConfig(env);
    changed = changedKeys(current, next);
    // Cross-checks (pool size within MAX_INSTANCES, ...) must hold for the mode that keeps running.
    if (next.routingMode !== current.routingMode) next = loadConfig({ ...env, ROUTING_MODE: current.routingMode });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    state.log.error({ error: error.message }, `configuration reload failed, keeping the running configuration: ${error.message}`);
    state.events.emit({ type: "config_reload_failed", error: error.message });
    return { ok: false, error: error.message };
  }
  const applied = changed.filter((key) => RELOADABLE_KEYS.has(key));
  const ignored = changed.filter((key) => !RELOADABLE_KEYS.has(key)).map(envName);

  if (applied.length > 0) {
    const updated: GatewayConfig = { ...current, ...pick(next, applied) };
    state.reconfigured(updated, createStrategy(updated, state.instanceView, target.store));
    if (applied.includes("logLevel")) state.log.level = updated.logLevel;
    if (applied.some((key) => UPKEEP_KEYS.has(key))) target.restartUpkeep();
    const oldMembers = current.routingMode === "pool" ? poolMemberIds(current.containerPoolSize) : [];
    const members = new Set(updated.routingMode === "pool" ? poolMemberIds(updated.containerPoolSize) : []);
    retireWhenEmpty(
      state,
      oldMembers.filter((id) => !members.has(id)),
    );
    for (const id of state.upkeep.prewarmIds()) {
      const s = state.registry.state(id);
      if (s !== "running" && s !== "starting") warmInBackground(state, id, "reload");
    }
    replenishSpares(state);
  }

  const changedNames = applied.map(envName);
  state.log.info(
    { changed: changedNames, ignored },
    `configuration reloaded${changedNames.length ? `: ${changedNames.join(", ")}` : ": nothing changed"}`,
  );
  if (ignored.length > 0)
    state.log.warn({ ignored }, `configuration reload ignored ${ignored.join(", ")}: fixed at start, restart to change`);
  state.events.emit({ type: "config_reloaded", changed: changedNames, ignored });
  return { ok: true, changed: changedNames, ignored };
}

/**
 * Pool members a shrink removed: routing already sends them nothing new (the strategy only knows the new
 * members); each sleeps now if empty, else when its last session ends. A later reload that grows the pool
 * back over an id before then keeps it.
 */
function retireWhenEmpty(state: GatewayState, ids: string[]): void {
  const waiting = new Set<string>();
  const stillRetired = (id: string) => {
    const index = indexOf("pool", id);
    return !(state.config.routingMode === "pool" && index >= 0 && index < state.config.containerPoolSize);
  };
  const retire = (id: string) => {
    const instance = state.registry.get(id);
    if (instance.connections > 0) return false;
    void instance.sleep("removed from pool").catch(() => undefined);
    return true;
  };
  for (const id of ids) {
    if (!state.registry.has(id) || retire(id)) continue;
    waiting.add(id);
    state.log.info({ instance: id }, "removed from the pool: draining, sleeps when its last session ends");
  }
  if (waiting.size === 0) return;
  const off = state.events.on((event) => {
    if (event.type !== "session_closed" || !waiting.has(event.instanceId)) return;
    if (!stillRetired(event.instanceId) || retire(event.instanceId)) waiting.delete(event.instanceId);
    if (waiting.size === 0) off();
  });
}
