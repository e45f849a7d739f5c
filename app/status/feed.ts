/**
 * The status page's feed: the last few notable gateway events, as short lines, in a ring buffer. Instance
 * starts, wakes, stops and failures, refusals and reloads; single sessions are left to the charts, where a
 * busy gateway's thousands of them stay readable.
 */
import type { GatewayEvent } from "../events.ts";

export type FeedKind = "started" | "woke" | "stopped" | "failed" | "rejected" | "reloaded" | "reload_failed";

export interface FeedEntry {
  /** Increasing per feed, so a client can tell new entries from ones it has shown. */
  seq: number;
  atMs: number;
  kind: FeedKind;
  instanceId?: string;
  text: string;
}

/** What an event means on the feed, or undefined when it is not shown there. */
export function feedLine(event: GatewayEvent): Pick<FeedEntry, "kind" | "instanceId" | "text"> | undefined {
  switch (event.type) {
    case "instance": {
      const id = event.instanceId;
      if (event.to === "running" && event.start) {
        const ms = Math.round(event.start.ms);
        return event.start.kind === "cold"
          ? { kind: "started", instanceId: id, text: `${id} started (cold) in ${ms} ms` }
          : { kind: "woke", instanceId: id, text: `${id} woke in ${ms} ms` };
      }
      if (event.to === "sleeping") return { kind: "stopped", instanceId: id, text: `${id} stopped (was ${event.from})` };
      if (event.to === "failed") return { kind: "failed", instanceId: id, text: `${id} failed: ${event.error ?? "unknown error"}` };
      return undefined;
    }
    case "rejected":
      return { kind: "rejected", text: `session refused: ${event.reason} (${event.status})` };
    case "config_reloaded":
      return {
        kind: "reloaded",
        text: `configuration reloaded: ${event.changed.join(", ") || "nothing changed"}${event.ignored.length ? `; ignored (restart to change): ${event.ignored.join(", ")}` : ""}`,
      };
    case "config_reload_failed":
      return { kind: "reload_failed", text: `reload failed, configuration kept: ${event.error}` };
    default:
      return undefined;
  }
}

/** A ring buffer of the newest `capacity` feed entries. */
export class EventFeed {
  private readonly entries: FeedEntry[] = [];
  private seq = 0;

  constructor(
    private readonly capacity = 50,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Adds the event when it belongs on the feed; true when it did. */
  add(event: GatewayEvent): boolean {
    const line = feedLine(event);
    if (!line) return false;
    this.entries.push({ seq: ++this.seq, atMs: this.clock(), ...line });
    if (this.entries.length > this.capacity) this.entries.shift();
    return true;
  }

  /** Newest first. */
  recent(): FeedEntry[] {
    return [...this.entries].reverse();
  }
}
