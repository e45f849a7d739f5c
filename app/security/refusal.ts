/** A refusal before the WebSocket upgrade: the HTTP status, a reason for /stats and a one-line message. */
export interface ClientRefusal {
  status: number;
  /** Counted under `rejections` in /stats. */
  reason: string;
  message: string;
  /** Sent as Retry-After (seconds) when set. */
  retryAfterS?: number;
}
