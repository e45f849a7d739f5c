/**
 * The routing seam: one small interface, one module per mode (DESIGN.md section 5). A strategy maps a new
 * session to an instance id, synchronously and in microseconds; it never starts containers itself.
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

export interface RoutingStrategy {
  readonly mode: RoutingMode;
  /** Picks the instance for a new session, or refuses it. */
  route(request: RouteRequest): RouteDecision;
  /** Instance ids to start at boot (warm members, minimum containers). */
  prewarmIds(): string[];
}
