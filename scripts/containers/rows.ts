/**
 * One row of `npm run containers -- list`: a container of the cluster, from the engine's own listing (labels,
 * state, creation time) or, under the process driver (whose transcribers exist only inside their gateway), from
 * that gateway's /stats. Both sources give the same shape, so the table and `--json` do not care which it was.
 */
import { type ContainerInfo, LABEL_REPLICA } from "../../runtime/driver.ts";

export interface ContainerRow {
  instanceId: string;
  /** The engine's container id (`pid:<n>` under the process driver), or null when none runs now. */
  containerId: string | null;
  /** GATEWAY_ID of the gateway that started it (the replica label); null when the container does not say. */
  gateway: string | null;
  /** `running` or `stopped` from the engine; the instance state (running, sleeping, ...) from /stats. */
  state: string;
  /** Engine host name with several engine hosts; null with one engine. */
  host: string | null;
  /** `host:port` it listens on while running, else null. */
  endpoint: string | null;
  /** When the container was created (or the instance's container started), ISO 8601; null when unknown. */
  createdAt: string | null;
  /** Seconds since createdAt, whole; null when unknown. */
  ageS: number | null;
}

function ageOf(createdAtMs: number | undefined, nowMs: number): number | null {
  return createdAtMs === undefined || Number.isNaN(createdAtMs) ? null : Math.max(0, Math.floor((nowMs - createdAtMs) / 1000));
}

/** Rows from the engine's listing, ordered by instance id then age (oldest first). */
export function rowsFromEngine(infos: ContainerInfo[], nowMs: number): ContainerRow[] {
  return infos
    .map((info) => ({
      instanceId: info.instanceId || "-",
      containerId: info.id,
      gateway: info.labels[LABEL_REPLICA] ?? null,
      state: info.running ? "running" : "stopped",
      host: info.hostName ?? null,
      endpoint: info.endpoint ? `${info.endpoint.host}:${info.endpoint.port}` : null,
      createdAt: new Date(info.createdAtMs).toISOString(),
      ageS: ageOf(info.createdAtMs, nowMs),
    }))
    .sort((a, b) => a.instanceId.localeCompare(b.instanceId) || (b.ageS ?? 0) - (a.ageS ?? 0));
}

/** What rowsFromStats reads of a /stats document. */
export interface StatsForList {
  gateway: string;
  instances: Array<{
    id: string;
    state: string;
    containerId: string | null;
    endpoint: string | null;
    startedAt: string | null;
    host?: string;
  }>;
}

/** Rows from a gateway's /stats: every instance it knows, started by that gateway. */
export function rowsFromStats(stats: StatsForList, nowMs: number): ContainerRow[] {
  return stats.instances.map((instance) => {
    const startedAtMs = instance.startedAt ? Date.parse(instance.startedAt) : undefined;
    return {
      instanceId: instance.id,
      containerId: instance.containerId,
      gateway: instance.containerId ? stats.gateway : null,
      state: instance.state,
      host: instance.host ?? null,
      endpoint: instance.endpoint,
      createdAt: instance.startedAt,
      ageS: ageOf(startedAtMs, nowMs),
    };
  });
}
