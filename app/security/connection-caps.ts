/**
 * Open connections per client IP (MAX_CONNECTIONS_PER_IP). A connection counts from admission to session end;
 * `acquire` hands back a release that works once however many paths call it (session end, an upgrade that
 * never opened), so the count cannot drift. Entries at zero are deleted: memory follows open connections.
 */
import type { Refusal } from "../refusal.ts";

export class ConnectionCaps {
  private readonly counts = new Map<string, number>();

  /** `limit` undefined: counted but never refused. */
  constructor(readonly limit: number | undefined) {}

  /** Refuses with 429 when `ip` already holds `limit` connections. */
  check(ip: string): Refusal | undefined {
    if (this.limit === undefined || this.count(ip) < this.limit) return undefined;
    return {
      status: 429,
      reason: "ip_connection_limit",
      message: `too many connections from this address (MAX_CONNECTIONS_PER_IP=${this.limit})`,
      retryAfterS: 5,
    };
  }

  /** Counts one connection for `ip`; the returned release uncounts it, once. */
  acquire(ip: string): () => void {
    this.counts.set(ip, this.count(ip) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(ip) - 1;
      if (left > 0) this.counts.set(ip, left);
      else this.counts.delete(ip);
    };
  }

  count(ip: string): number {
    return this.counts.get(ip) ?? 0;
  }

  /** Connections counted over every address. */
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.counts.size;
  }
}
