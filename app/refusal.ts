/**
 * Why a session is refused before its WebSocket upgrade, declared once for every refuser: the client checks
 * (app/security/), the gateway's admission (draining, capacity, engine) and the routing strategies. The
 * listen route turns one into an HTTP response without mapping reasons to statuses.
 */
export interface Refusal {
  /** The HTTP status: 400 bad request, 401/403 credentials or origin, 429 rate or per-IP cap, 503 capacity. */
  status: number;
  /** Counted under `rejections` in /stats. */
  reason: string;
  /** One line, sent as the response body. */
  message: string;
  /** Sent as Retry-After (seconds) when set. */
  retryAfterS?: number;
}
