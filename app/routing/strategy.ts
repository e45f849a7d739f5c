/**
 * The routing seam: one small interface, one module per mode (DESIGN.md section 5). A strategy maps a new
 * session to an instance id, synchronously and in microseconds; it never starts containers itself. It reads
 * instance facts through InstanceView and keeps who-holds-what in a RoutingStore.
 */
import type { RoutingMode } from "../config.ts";

/** What a strategy knows about the session asking to be placed. */
export interface RouteRequest {
  /** Validated against [A-Za-z0-9._:-]{1,128}; absent when the client sent none. */
  sessionId?: string;
}

/** Why a session was refused before its upgrade; the gateway maps it to an HTTP status. */
export type RejectReason = "session_required" | "capacity";

export type RouteDecision =
  | { ok: true; instanceId: string }
  | { ok: false; reason: RejectReason; message: string; retryAfterS?: number };

/** The instance states /stats shows (DESIGN.md section 4); same names as runtime's InstanceStateName. */
export type InstanceState = "idle" | "starting" | "running" | "stopping" | "sleeping" | "failed";

/** What strategies may read about instances; the gateway's instance registry implements it. */
export interface InstanceView {
  /** undefined when the gateway never used `id`. */
  state(id: string): InstanceState | undefined;
  /** Open sessions on the instance (leases held). */
  connections(id: string): number;
  /** Instances starting or running; sleeping, idle, stopping and failed ones do not count. */
  runningCount(): number;
}

/** Per instance, for /stats: sessions the strategy placed there and when that count last changed. */
export interface CoordinatorEntry {
  id: string;
  sessions: number;
  connections: number;
  lastChangeAt: string | null;
}

export interface CoordinatorView {
  instances: CoordinatorEntry[];
  totalSessions: number;
}

export interface RoutingStrategy {
  readonly mode: RoutingMode;
  /** Picks the instance for a new session, or refuses it. Pure: nothing changes until opened(). */
  route(request: RouteRequest): RouteDecision;
  /**
   * The gateway admitted a session on the instance route() chose. Call it synchronously right after an ok
   * route() (before any await), so a burst of sessions sees each other's load; exactly once per admitted
   * session. `sessionId` is the client's id, or the request id when it sent none.
   */
  opened(sessionId: string, instanceId: string): void;
  /** That session ended, whatever the path (normal, error, abort): exactly once per opened(). */
  closed(sessionId: string, instanceId: string): void;
  /** Instance ids to start at boot and keep awake (pool members with POOL_PREWARM, autoscale's minimum). */
  prewarmIds(): string[];
  /**
   * The reaper's pass: ids the gateway should stop now (autoscale: above the minimum, no session for
   * SCALE_DOWN_AFTER). Also forgets routing facts that went stale. [] in modes that only sleep on SLEEP_AFTER.
   */
  reap(nowMs: number): string[];
  /**
   * Whether the SLEEP_AFTER reaper must leave this instance up although it has no session: autoscale's minimum
   * and unclaimed spares (else a spare would sleep and be restarted every SLEEP_AFTER).
   */
  keepAwake(instanceId: string): boolean;
  /** WARM_SPARES: spare ids the gateway should start now (within MAX_INSTANCES); [] when none are wanted. */
  sparesToStart(): string[];
  /** Sessions per instance as this strategy counts them, for /stats. */
  coordinatorView(): CoordinatorView;
}
