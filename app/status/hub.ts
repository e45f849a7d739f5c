/**
 * The status page's server push: Server-Sent Events on `GET /status/events`. Every gateway event marks the
 * snapshot dirty; snapshots go out coalesced (at most one per `minIntervalMs`), and one goes out every
 * `heartbeatMs` regardless, which keeps proxies and Bun's idle timeout from closing a quiet stream and keeps
 * the charts moving. A change of the routing store's availability is pushed within a second (no event says so).
 * Clients are bounded (`maxClients`; more get 503), so the page cannot become a load.
 */
import type { GatewayState } from "../state.ts";
import { statsDocument } from "../stats.ts";
import { EventFeed } from "./feed.ts";
import { StatusSeries } from "./series.ts";

export interface StatusHubOptions {
  maxClients?: number;
  minIntervalMs?: number;
  heartbeatMs?: number;
  /** Open-session sampling period for the chart. */
  sampleEveryMs?: number;
}

/** What each push carries: /stats plus the feed and the chart series. */
export function statusSnapshot(state: GatewayState, feed: EventFeed, series: StatusSeries) {
  return { ...statsDocument(state), nowMs: Date.now(), feed: feed.recent(), series: series.toJSON() };
}

export type StatusSnapshot = ReturnType<typeof statusSnapshot>;

const encoder = new TextEncoder();

export class StatusHub {
  readonly feed = new EventFeed();
  readonly series = new StatusSeries();
  private readonly clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly maxClients: number;
  private readonly minIntervalMs: number;
  private lastPushMs = 0;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly unsubscribe: () => void;
  private eventId = 0;

  constructor(
    private readonly state: GatewayState,
    options: StatusHubOptions = {},
  ) {
    this.maxClients = options.maxClients ?? 32;
    this.minIntervalMs = options.minIntervalMs ?? 250;
    this.unsubscribe = state.events.on((event) => {
      this.feed.add(event);
      if (event.type === "instance" && event.start) this.series.recordStart(event.instanceId, event.start.kind, event.start.ms);
      if (event.type === "session_opened" || event.type === "session_closed") this.series.sampleSessions(state.relays.size);
      this.schedule();
    });
    this.series.sampleSessions(state.relays.size);
    let storeAvailable = state.store.available;
    this.every(options.sampleEveryMs ?? 1000, () => {
      this.series.sampleSessions(state.relays.size);
      if (state.store.available === storeAvailable) return;
      storeAvailable = state.store.available;
      this.schedule();
    });
    this.every(options.heartbeatMs ?? 5000, () => this.push());
  }

  /** Connected event-stream clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  snapshot(): StatusSnapshot {
    return statusSnapshot(this.state, this.feed, this.series);
  }

  /** The `text/event-stream` response for one client: a snapshot at once, then pushes until it goes away. */
  connect(request: Request): Response {
    if (this.clients.size >= this.maxClients) {
      return new Response(`too many status page clients (${this.maxClients}); close one and retry\n`, {
        status: 503,
        headers: { "retry-after": "10" },
      });
    }
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.clients.add(c);
        // retry: how long EventSource waits before reconnecting after the stream drops.
        c.enqueue(encoder.encode(`retry: 2000\n${this.frame(JSON.stringify(this.snapshot()))}`));
      },
      cancel: () => {
        this.clients.delete(controller);
      },
    });
    request.signal?.addEventListener("abort", () => this.drop(controller));
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // nginx and similar proxies buffer responses unless told not to.
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream and stops the timers (gateway shutdown). */
  close(): void {
    this.unsubscribe();
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.pending);
    for (const client of [...this.clients]) this.drop(client, true);
  }

  /** Pushes now if the last push is old enough, else once the interval has passed (one pending push at most). */
  private schedule(): void {
    if (this.pending || this.clients.size === 0) return;
    const waitMs = Math.max(0, this.lastPushMs + this.minIntervalMs - performance.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.push();
    }, waitMs);
    this.pending.unref?.();
  }

  private push(): void {
    if (this.clients.size === 0) return;
    this.lastPushMs = performance.now();
    const bytes = encoder.encode(this.frame(JSON.stringify(this.snapshot())));
    for (const client of [...this.clients]) {
      // A client whose buffer keeps growing is not reading: drop it rather than hold its backlog.
      if ((client.desiredSize ?? 0) < -4 * bytes.byteLength) this.drop(client, true);
      else {
        try {
          client.enqueue(bytes);
        } catch {
          this.clients.delete(client);
        }
      }
    }
  }

  private frame(data: string): string {
    return `id: ${++this.eventId}\nevent: snapshot\ndata: ${data}\n\n`;
  }

  private drop(client: ReadableStreamDefaultController<Uint8Array>, close = false): void {
    if (!this.clients.delete(client) || !close) return;
    try {
      client.close();
    } catch {
      // Already closed by the other side.
    }
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref?.();
    this.timers.push(timer);
  }
}
