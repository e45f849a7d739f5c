/**
 * The gateway's count of its sessions: those routed but not yet upgraded, those open (their relays), and the
 * totals of those that ended (close codes, bytes) for /stats and /metrics. Only Session writes it, once per
 * transition, so every count follows one session's own state.
 */
import type { GatewayEvents } from "../events.ts";
import type { Relay } from "./relay.ts";

/** Who an ended session was, for its closing event. */
export interface EndedSession {
  sessionId: string;
  instanceId: string;
  /** performance.now() when it was routed. */
  routedAtMs: number;
}

export class SessionBook {
  private readonly openRelays = new Set<Relay>();
  private upgrading = 0;
  private total = 0;
  private bytesInEnded = 0;
  private bytesOutEnded = 0;
  private readonly codes: Record<string, number> = {};

  constructor(private readonly events: GatewayEvents) {}

  /** Relays of the sessions open now (upgraded, not finished). */
  get relays(): ReadonlySet<Relay> {
    return this.openRelays;
  }

  /** Sessions open or upgrading: what MAX_SESSIONS caps, so a burst of handshakes cannot overshoot it. */
  get inFlight(): number {
    return this.openRelays.size + this.upgrading;
  }

  /** Sessions that ever opened. */
  get sessionsTotal(): number {
    return this.total;
  }

  /** Ended sessions by close code. */
  get closeCodes(): Readonly<Record<string, number>> {
    return this.codes;
  }

  /** Bytes relayed by ended sessions (open ones count on their relay). */
  get bytesIn(): number {
    return this.bytesInEnded;
  }

  get bytesOut(): number {
    return this.bytesOutEnded;
  }

  /** A session was routed; its upgrade is in flight. */
  routed(): void {
    this.upgrading++;
  }

  /** A routed session ended without ever opening (a broken handshake, its upgrade deadline). */
  abandoned(): void {
    this.upgrading--;
  }

  /** A routed session's WebSocket opened. */
  opened(relay: Relay): void {
    this.upgrading--;
    this.openRelays.add(relay);
    this.total++;
  }

  /** An open session ended with `code`. */
  ended(relay: Relay, code: number, who: EndedSession): void {
    this.openRelays.delete(relay);
    this.codes[code] = (this.codes[code] ?? 0) + 1;
    this.bytesInEnded += relay.bytesIn;
    this.bytesOutEnded += relay.bytesOut;
    this.events.emit({
      type: "session_closed",
      sessionId: who.sessionId,
      instanceId: who.instanceId,
      code,
      durationMs: performance.now() - who.routedAtMs,
      bytesIn: relay.bytesIn,
      bytesOut: relay.bytesOut,
    });
  }
}
