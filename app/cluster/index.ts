/** ROUTING_STORE -> the routing store a gateway keeps its routing state in. */
import type { GatewayConfig } from "../config.ts";
import { MemoryRoutingStore, type RoutingStore } from "../routing/store.ts";
import { RedisRoutingStore } from "./redis-store.ts";

/**
 * The store for `config.routingStore`, not yet connected (Gateway.start connects it). `address` is where this
 * gateway listens once it does, announced to the cluster's other gateways.
 */
export function createRoutingStore(config: GatewayConfig, address: () => string | null): RoutingStore {
  if (config.routingStore === "memory") return new MemoryRoutingStore({ gatewayId: config.gatewayId, address });
  return new RedisRoutingStore({ url: config.redisUrl!, clusterName: config.gatewayName, gatewayId: config.gatewayId, address });
}
