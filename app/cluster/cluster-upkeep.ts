/**
 * What only the cluster's leader does, once per upkeep pass: put to sleep what no gateway uses, adopt the
 * running containers of gateways that died, clear their unfinished claims, and remove containers no record
 * references (what a killed gateway half made, a lost claim's container). Right after Redis lost its data it
 * writes records back from the containers' labels instead of sweeping, so nothing that serves is removed.
 */
import { type ContainerInfo, LABEL_FENCE, LABEL_REPLICA } from "../../runtime/driver.ts";
import { isHealthy } from "../../runtime/health.ts";
import type { DirectoryRecord } from "./directory-copy.ts";
import type { ClusterMember } from "./member.ts";

/** How long after Redis lost its data the leader restores records from labels instead of sweeping. */
export const RESTORE_WINDOW_MS = 15_000;

/**
 * Sleeps every running instance that no gateway has a session on and whose load has not changed (nor has it
 * started) for `sleepAfterMs`, unless `keepAwake` names it. The release itself re-checks every live gateway's
 * load atomically, so a session that just arrived through a peer keeps it up. Resolves how many slept.
 */
export async function sleepIdle(
  member: ClusterMember,
  sleepAfterMs: number,
  keepAwake: (id: string) => boolean,
  nowMs: number,
): Promise<number> {
  const { store, directory, driver } = member;
  const idle = directory.records().filter((record) => {
    if (record.state !== "running" || store.load(record.instanceId) > 0 || keepAwake(record.instanceId)) return false;
    const since = Math.max(store.lastChangeAtMs(record.instanceId) ?? 0, record.startedAtMs ?? 0);
    return nowMs - since > sleepAfterMs;
  });
  const slept = await Promise.all(idle.map((record) => driver.stopInstance(record.instanceId, "idle").catch(() => false)));
  return slept.filter(Boolean).length;
}

/** Adoption, unfinished claims, label restore and the orphan sweep (see the file comment). */
export async function reconcile(member: ClusterMember, nowMs: number): Promise<void> {
  const { directory, driver, logger } = member;
  const infos = await driver.list();
  // Read after listing: every container listed was claimed before it was made, so its record is in this read.
  await directory.refresh();
  const live = await member.liveGateways();
  const byFence = new Map<string, ContainerInfo>();
  for (const info of infos) if (info.labels[LABEL_FENCE]) byFence.set(info.labels[LABEL_FENCE]!, info);

  for (const record of directory.records()) {
    if (live.has(record.owner)) continue;
    if (record.state === "starting") {
      if (await directory.release(record.instanceId, record.fence, `gateway ${record.owner} is gone`, true, "dead").catch(() => false)) {
        logger.info({ instance: record.instanceId, owner: record.owner }, "cleared a start left unfinished by a gateway that is gone");
      }
      continue;
    }
    const info = byFence.get(record.fence) ?? infos.find((candidate) => candidate.id === record.containerId) ?? (await probe(record));
    if (info?.running) {
      if (await driver.adoptRecord(record, info).catch(() => false)) {
        logger.info(
          { instance: record.instanceId, container: info.id, from: record.owner },
          "adopted a container of a gateway that is gone",
        );
      }
    } else {
      await directory
        .release(record.instanceId, record.fence, `container gone with gateway ${record.owner}`, false, "dead")
        .catch(() => false);
    }
  }

  if (directory.lostAtMs !== undefined && nowMs - directory.lostAtMs < RESTORE_WINDOW_MS) return restoreFromLabels(member, infos);

  for (const info of infos) {
    const record = directory.get(info.instanceId);
    if (record && (record.fence === info.labels[LABEL_FENCE] || record.containerId === info.id)) continue;
    // A start of this instance in flight elsewhere: give a container of it time to be claimed as its own.
    if (record?.state === "starting" && nowMs - info.createdAtMs < driver.startTimeoutMs) continue;
    await driver.remove(info.id).catch(() => undefined);
    logger.info(
      { instance: info.instanceId, container: info.id, replica: info.labels[LABEL_REPLICA] },
      "removed a container no gateway claims",
    );
  }
}

/** Redis came back empty: running containers with a fence label and no record get their record back. */
async function restoreFromLabels(member: ClusterMember, infos: ContainerInfo[]): Promise<void> {
  const { directory, driver } = member;
  for (const info of infos) {
    const fence = info.labels[LABEL_FENCE];
    if (!info.running || !fence || !info.endpoint || directory.get(info.instanceId)) continue;
    const record: Omit<DirectoryRecord, "version"> = {
      instanceId: info.instanceId,
      state: "running",
      fence,
      owner: member.gatewayId,
      claimedAtMs: info.createdAtMs,
      containerId: info.id,
      host: info.endpoint.host,
      port: info.endpoint.port,
      machine: driver.machine,
      startedAtMs: info.createdAtMs,
    };
    if (info.endpoint.socketPath) record.socketPath = info.endpoint.socketPath;
    if (info.hostName) record.hostName = info.hostName;
    const restored = await directory.restore(record).catch(() => undefined);
    if (restored) driver.holdRestored(restored, info);
  }
}

/** A record whose container the driver cannot list (the process driver sees only its own children): ask it. */
async function probe(record: DirectoryRecord): Promise<ContainerInfo | undefined> {
  if (!record.containerId || !record.host || !record.port) return undefined;
  if (!(await isHealthy(`http://${record.host}:${record.port}/health`))) return undefined;
  return {
    id: record.containerId,
    instanceId: record.instanceId,
    labels: { [LABEL_FENCE]: record.fence },
    running: true,
    endpoint: { host: record.host, port: record.port, ...(record.socketPath ? { socketPath: record.socketPath } : {}) },
    createdAtMs: record.startedAtMs ?? 0,
  };
}
