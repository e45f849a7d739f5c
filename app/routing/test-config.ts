/** A GatewayConfig for routing tests: parsed by the real loader, with a backend that needs no API key. */
import { loadConfig, type GatewayConfig } from "../config.ts";

export function routingConfig(env: Record<string, string> = {}): GatewayConfig {
  return loadConfig({ TRANSCRIBER_BACKEND: "echo", ...env });
}

/**
 * The conformance suite's limits: large enough for its 10,000 live sessions (refusals are tested per mode),
 * with a minimum and a warm spare so the upkeep cases have something to check.
 */
export function conformanceConfig(env: Record<string, string> = {}): GatewayConfig {
  return routingConfig({
    CONTAINER_POOL_SIZE: "20",
    POOL_BALANCE_FACTOR: "1.25",
    MAX_INSTANCES: "10000",
    MAX_CONNECTIONS_PER_CONTAINER: "100",
    MIN_CONTAINERS: "2",
    WARM_SPARES: "1",
    SCALE_DOWN_AFTER: "2m",
    ...env,
  });
}
