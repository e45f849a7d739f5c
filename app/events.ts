/**
 * What happens in the gateway, as typed events: the seam metrics, the status page's feed and logs subscribe to,
 * so the routes only announce facts and never know who listens.
 */
import type { InstanceStateName, StartKind } from "../runtime/instance.ts";

export type GatewayEvent =
  | { type: "session_opened"; sessionId: string; instanceId: string; start: StartKind; waitMs: number }
  | { type: "session_closed"; sessionId: string; instanceId: string; code: number; durationMs: number; bytesIn: number; bytesOut: number }
  | { type: "rejected"; reason: string; status: number }
  | { type: "routed"; instanceId: string; decisionUs: number }
  | {
      type: "instance";
      instanceId: string;
      from: InstanceStateName;
      to: InstanceStateName;
      /** On `to: running`: how it started and how long the start took. */
      start?: { kind: Exclude<StartKind, "warm">; ms: number };
      error?: string;
    }
  /** A SIGHUP reload applied `changed` (config keys) and left `ignored` as they were (restart to change them). */
  | { type: "config_reloaded"; changed: string[]; ignored: string[] }
  | { type: "config_reload_failed"; error: string };

export type GatewayEventListener = (event: GatewayEvent) => void;

/** A synchronous fan-out; a listener that throws is dropped from this emit, never breaks the emitter. */
export class GatewayEvents {
  private readonly listeners = new Set<GatewayEventListener>();

  on(listener: GatewayEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GatewayEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // An observer's bug must not break a session.
      }
    }
  }
}
