/**
 * The selector half of a routing strategy: where a new session goes, and the bookkeeping of who is where that
 * the next decisions read (see docs/architecture.md, "Routing"). Synchronous and in microseconds; it never
 * starts containers. Its other half, what to keep running without a session, is upkeep-policy.ts.
 */
import type { RoutingMode } from "../config.ts";
import type { Refusal } from "../refusal.ts";

/** What a selector knows about the session asking to be placed. */
export interface RouteRequest {
  /** Validated against [A-Za-z0-9._:-]{1,128}; absent when the client sent none. */
  sessionId?: string;
}

/** An instance for the session, or a refusal carrying its HTTP status (400 session_required, 503 capacity). */
export type RouteDecision = { ok: true; instanceId: string } | ({ ok: false } & Refusal);

/** Per instance, for /stats: sessions the selector placed there and when that count last changed. */
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

export interface SessionSelector {
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
  /**
   * Only where a cap must hold for a whole cluster (autoscale over a shared store): counts the session on
   * `instanceId` atomically within the cap before the upgrade; false when it is full there (route() then avoids
   * it for a moment). An admitted session's opened() does not count it again. StoreUnavailableError while the
   * shared store is away.
   */
  admit?(sessionId: string, instanceId: string): Promise<boolean>;
  /** After an admitted session was routed (or refused): an admission no opened() took is undone. */
  settleAdmission?(sessionId: string, instanceId: string): void;
  /** Sessions per instance as this selector counts them, for /stats. */
  coordinatorView(): CoordinatorView;
}
