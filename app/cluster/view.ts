/**
 * The local view a gateway answers routing reads from when several gateways share one Redis: each gateway's
 * open-session counts as that gateway last published them, plus their sum per instance and per session, kept
 * incrementally so every read is O(1). A gateway's counts are replaced wholesale by a snapshot or changed one
 * entry at a time by a notice; both carry the gateway's write version, and anything older than what was
 * applied is ignored, so a late notice never undoes a newer snapshot.
 */
import { OpenSessionCounts } from "../routing/open-sessions.ts";

/** One gateway's share: (sessionId, instanceId) -> its open count there, with the version of its last write. */
interface GatewayShare {
  version: number;
  open: Map<string, number>;
}

/** Joins a session and an instance id into one field name (neither may contain a newline: ids are validated). */
export function openField(sessionId: string, instanceId: string): string {
  return `${sessionId}\n${instanceId}`;
}

function splitField(field: string): [sessionId: string, instanceId: string] {
  const at = field.indexOf("\n");
  return [field.slice(0, at), field.slice(at + 1)];
}

export class ClusterView extends OpenSessionCounts {
  private readonly shares = new Map<string, GatewayShare>();
  /** instanceId -> gatewayId -> open sessions there, kept beside the shares so /stats reads it in O(gateways). */
  private readonly byInstance = new Map<string, Map<string, number>>();

  constructor() {
    // Summed over every gateway's share, applied in whatever order notices arrive.
    super("latest");
  }

  /** The version of `gatewayId`'s counts applied here, or -1 when none. */
  versionOf(gatewayId: string): number {
    return this.shares.get(gatewayId)?.version ?? -1;
  }

  /** Gateways with a share here. */
  gatewayIds(): string[] {
    return [...this.shares.keys()];
  }

  /** `gatewayId`'s own count of `sessionId` on `instanceId`. */
  countOf(gatewayId: string, sessionId: string, instanceId: string): number {
    return this.shares.get(gatewayId)?.open.get(openField(sessionId, instanceId)) ?? 0;
  }

  /** `gatewayId`'s counts by openField(session, instance). */
  openOf(gatewayId: string): ReadonlyMap<string, number> {
    return this.shares.get(gatewayId)?.open ?? new Map();
  }

  /** Open sessions `gatewayId` counts, all instances together. */
  sessionsOf(gatewayId: string): number {
    let sum = 0;
    for (const count of this.shares.get(gatewayId)?.open.values() ?? []) sum += count;
    return sum;
  }

  /** Sets one count of `gatewayId` at `version` (ignored when older than what was applied). */
  set(gatewayId: string, version: number, sessionId: string, instanceId: string, count: number, atMs: number): void {
    const share = this.shareOf(gatewayId);
    if (version < share.version) return;
    share.version = version;
    const field = openField(sessionId, instanceId);
    const before = share.open.get(field) ?? 0;
    if (count > 0) share.open.set(field, count);
    else share.open.delete(field);
    this.adjust(sessionId, instanceId, count - before, atMs);
    this.shift(gatewayId, instanceId, count - before);
  }

  /**
   * Replaces all of `gatewayId`'s counts by a snapshot at `version`; false (nothing changes) when it is older.
   * `atMsOf` says when each instance last changed (the store's record, or now when unknown).
   */
  replace(gatewayId: string, version: number, open: Map<string, number>, atMsOf: (instanceId: string) => number): boolean {
    const share = this.shareOf(gatewayId);
    if (version < share.version) return false;
    const adjust = (field: string, delta: number) => {
      const [sessionId, instanceId] = splitField(field);
      this.adjust(sessionId, instanceId, delta, atMsOf(instanceId));
      this.shift(gatewayId, instanceId, delta);
    };
    for (const [field, before] of share.open) {
      if (!open.has(field)) adjust(field, -before);
    }
    for (const [field, count] of open) {
      const before = share.open.get(field) ?? 0;
      if (count !== before) adjust(field, count - before);
    }
    share.open = new Map([...open].filter(([, count]) => count > 0));
    share.version = version;
    return true;
  }

  /** A gateway left (or its heartbeat expired): its counts leave the sums. */
  drop(gatewayId: string, atMs: number): void {
    const share = this.shares.get(gatewayId);
    if (!share) return;
    for (const [field, count] of share.open) {
      const [sessionId, instanceId] = splitField(field);
      this.adjust(sessionId, instanceId, -count, atMs);
      this.shift(gatewayId, instanceId, -count);
    }
    this.shares.delete(gatewayId);
  }

  /** Open sessions on `instanceId` per gateway, only gateways with at least one. */
  loadsByGateway(instanceId: string): Record<string, number> {
    return Object.fromEntries(this.byInstance.get(instanceId) ?? []);
  }

  /** Raises an instance's last change to `atMs` (from the store's record of it). */
  noteChange(instanceId: string, atMs: number): void {
    this.noteChangeAt(instanceId, atMs);
  }

  private shift(gatewayId: string, instanceId: string, delta: number): void {
    if (delta === 0) return;
    let perGateway = this.byInstance.get(instanceId);
    if (!perGateway) this.byInstance.set(instanceId, (perGateway = new Map()));
    const sessions = (perGateway.get(gatewayId) ?? 0) + delta;
    if (sessions > 0) perGateway.set(gatewayId, sessions);
    else perGateway.delete(gatewayId);
    if (perGateway.size === 0) this.byInstance.delete(instanceId);
  }

  private shareOf(gatewayId: string): GatewayShare {
    let share = this.shares.get(gatewayId);
    if (!share) this.shares.set(gatewayId, (share = { version: -1, open: new Map() }));
    return share;
  }
}
