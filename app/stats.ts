/**
 * The `/stats` document: mode, configuration (no secrets), the routing store and the cluster's gateways, every
 * instance and the totals. An instance's `connections` is the routing store's count, so in a cluster it is the
 * sum over every gateway (`connectionsByGateway` has the parts); the registry's own count is this gateway's
 * leases only and would undercount an instance its peers also use.
 */
import { publicConfig } from "./config.ts";
import type { GatewayState } from "./state.ts";

export function statsDocument(state: GatewayState) {
  const { store } = state;
  const engineHosts = state.registry.driver.engineHosts?.();
  const instances = state.registry.list().map((instance) => {
    const snapshot = instance.snapshot();
    return {
      ...snapshot,
      connections: store.load(instance.id),
      connectionsByGateway: store.loadsByGateway(instance.id),
      host: (snapshot.containerId && engineHosts?.hostOf(snapshot.containerId)) || null,
    };
  });
  let coldStarts = 0;
  let wakes = 0;
  let requests = 0;
  let connections = 0;
  for (const instance of instances) {
    coldStarts += instance.coldStarts;
    wakes += instance.wakes;
    requests += instance.requests;
    connections += instance.connections;
  }
  return {
    mode: state.selector.mode,
    driver: state.driverName,
    draining: state.draining,
    gateway: state.config.gatewayId,
    store: { kind: store.kind, available: store.available },
    gateways: store.gateways(),
    config: publicConfig(state.config),
    instances,
    /** ENGINE_HOSTS: every engine host (up, running, limit, image, drained); [] with one engine. */
    hosts: engineHosts?.hosts() ?? [],
    coordinator: state.selector.coordinatorView(),
    totals: {
      openSessions: state.relays.size,
      connections,
      sessions: state.sessions.sessionsTotal,
      requests,
      coldStarts,
      wakes,
      running: instances.filter((i) => i.state === "running").length,
      rejections: { ...state.rejections },
      closeCodes: { ...state.closeCodes },
    },
  };
}

export type StatsDocument = ReturnType<typeof statsDocument>;
