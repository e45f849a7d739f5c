/** ROUTING_MODE -> strategy. Switching mode is a change of one variable, never of code. */
import { ConfigError, type GatewayConfig } from "../config.ts";
import { SharedStrategy } from "./shared.ts";
import type { RoutingStrategy } from "./strategy.ts";

export function createStrategy(config: GatewayConfig): RoutingStrategy {
  switch (config.routingMode) {
    case "shared":
      return new SharedStrategy();
    default:
      throw new ConfigError(`ROUTING_MODE: '${config.routingMode}' is not available in this build yet; use shared`);
  }
}
