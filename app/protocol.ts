/** The client-facing protocol's constants and message builders (the README's Protocol section). */
import type { StartKind } from "../runtime/lease.ts";

/** WebSocket close codes the gateway uses, by meaning. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  transcriberFailed: 1014,
} as const;

export type ErrorCode =
  | "container_stopped"
  | "container_failed"
  | "transcriber_backpressure"
  | "transcriber_unreachable"
  | "gateway_shutdown";

/** `{"type":"Error","code","message"}`, sent before any abnormal close. */
export function errorMessage(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: "Error", code, message });
}

export interface Metadata {
  type: "Metadata";
  session_id: string;
  request_id: string;
  container: string;
  routing: string;
  /** GATEWAY_ID of the gateway that routed the session (in a cluster, which replica the client reached). */
  gateway: string;
  start: StartKind;
  wait_ms: number;
}
