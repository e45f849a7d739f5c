/** ROUTING_MODE -> strategy. Switching mode is a change of one variable, never of code. */
import type { GatewayConfig } from "../config.ts";
import { AutoscaleStrategy } from "./autoscale.ts";
import { PoolStrategy } from "./pool.ts";
import { SessionStrategy } from "./session.ts";
import { SharedStrategy } from "./shared.ts";
import { MemoryRoutingStore, type RoutingStore } from "./store.ts";
import type { InstanceView, RoutingStrategy } from "./strategy.ts";

export type { InstanceView, RoutingStrategy } from "./strategy.ts";
export type { SessionSelector } from "./selector.ts";
export type { UpkeepPolicy } from "./upkeep-policy.ts";
export { MemoryRoutingStore, type RoutingStore } from "./store.ts";

/**
 * The strategy for `config.routingMode`, reading instances through `view` (the gateway's registry) and keeping
 * its routing state in `store`. `clock` (ms epoch) stamps load changes for scale-down.
 */
export function createStrategy(
  config: GatewayConfig,
  view: InstanceView,
  store: RoutingStore = new MemoryRoutingStore(),
  clock: () => number = Date.now,
): RoutingStrategy {
  switch (config.routingMode) {
    case "shared":
      return new SharedStrategy(view, store, clock);
    case "pool":
      return new PoolStrategy(config, view, store, clock);
    case "session":
      return new SessionStrategy(config, view, store, clock);
    case "autoscale":
      return new AutoscaleStrategy(config, view, store, clock);
  }
}
