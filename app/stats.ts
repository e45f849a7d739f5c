/**
 * The `/stats` document: mode, configuration (no secrets), the routing store and the cluster's gateways, every
 * instance and the totals. An instance's `connections` is the routing store's count, so in a cluster it is the
 * sum over every gateway (`connectionsByGateway` has the parts); the registry's own count is this gateway's
 * leases only and would undercount an instance its peers also use.
 */
import type { InstanceSnapshot } from "../runtime/instance.ts";
import type { EngineHostsView } from "../runtime/engine-hosts/view.ts";
import type { DirectoryRecord } from "./cluster/directory-copy.ts";
import { publicConfig } from "./config.ts";
import type { GatewayState } from "./state.ts";

export function statsDocument(state: GatewayState) {
  const { store } = state;
  const engineHosts = state.registry.driver.engineHosts?.();
  const directory = state.cluster?.directory;
  const cluster = (id: string) => ({
    connections: store.load(id),
    connectionsByGateway: store.loadsByGateway(id),
    /** In a cluster: the gateway holding the instance's claim or watching its container. */
    owner: directory?.get(id)?.owner ?? null,
  });
  const instances = state.registry.list().map((instance) => {
    const snapshot = instance.snapshot();
    return {
      ...snapshot,
      ...cluster(instance.id),
      host: (snapshot.containerId && engineHosts?.hostOf(snapshot.containerId)) || null,
      /** The transcriber's own last load report (lag, CPU share, accepting), read by this gateway; null when none is fresh. */
      load: state.loads.latest(instance.id),
      /** How many more sessions its transcriber's own CPU mark takes, by the cost learned from its reports; null until learned. */
      room: state.loads.roomFor(instance.id),
      /** What this gateway's link holds for the transcriber (bytes) and how long it has been over the mark; null without a link. */
      link: snapshot.containerId ? (state.links.backlog(snapshot.containerId) ?? null) : null,
    };
  });
  // In a cluster, instances only peers have used are listed too, from the directory and the store's counts.
  const listed = new Set(instances.map((instance) => instance.id));
  const peersOnly = [...(directory?.records().map((record) => record.instanceId) ?? []), ...store.loads().map((load) => load.instanceId)];
  for (const id of peersOnly) {
    if (listed.has(id)) continue;
    listed.add(id);
    instances.push(peerInstance(id, directory?.get(id), cluster(id), engineHosts));
  }
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
    /**
     * Each machine its transcribers report (by boot id): how busy, its sessions, what a session was learned to cost
     * it, and what one more would make it (weighed against HOST_CPU_MAX).
     */
    machines: state.loads.machines(),
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

/** An instance this gateway never used, as the cluster's directory and counts describe it. */
function peerInstance(
  id: string,
  record: DirectoryRecord | undefined,
  counts: { connections: number; connectionsByGateway: Record<string, number>; owner: string | null },
  engineHosts: EngineHostsView | undefined,
) {
  const snapshot: InstanceSnapshot = {
    id,
    // No record: no container in the cluster (sessions counted for it are still waiting for one).
    state: record?.state ?? "sleeping",
    connections: counts.connections,
    requests: 0,
    coldStarts: 0,
    wakes: 0,
    lastActiveAt: new Date(record?.startedAtMs ?? record?.claimedAtMs ?? Date.now()).toISOString(),
    startedAt: record?.startedAtMs === undefined ? null : new Date(record.startedAtMs).toISOString(),
    endpoint: record?.host && record.port ? `${record.host}:${record.port}` : null,
    containerId: record?.containerId ?? null,
    lastError: null,
    startFailures: 0,
    nextStartAt: null,
  };
  const host = record?.hostName ?? (record?.containerId && engineHosts?.hostOf(record.containerId)) ?? null;
  return { ...snapshot, ...counts, host: host || null, load: null, room: null, link: null };
}
