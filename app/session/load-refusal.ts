/**
 * Early refusal from a transcriber's load, by two signals. Its own report: each transcriber reports on
 * `GET /health` under `load` (transcriber/load-meter.ts: event-loop lag, CPU share, `accepting`). And its link:
 * the audio the gateway holds for it (mux-link.ts), which grows when it reads slower than its sessions send, as
 * on a machine whose CPU is all taken, where its own loop can still turn on time. A new session routed to an
 * instance that is not accepting, or whose link has been behind for LINK_BEHIND_MS, is refused 503 + Retry-After
 * before the upgrade, so the sessions already there keep their audio instead of being cut with 1013
 * transcriber_backpressure once the link backs up to the limit.
 */
import type { LoadReport } from "../../transcriber/load-meter.ts";
import type { LinkBacklog } from "./mux-link.ts";
import type { Refusal } from "../refusal.ts";
import type { InstanceView } from "../routing/strategy.ts";

/** The `load` object of a transcriber's /health answer (transcriber/load-meter.ts writes it). */
export type TranscriberLoad = LoadReport;

/** Reports older than this are not trusted either way (the instance may have recovered or died). */
export const LOAD_REPORT_MAX_AGE_MS = 3_000;
/**
 * A link behind for this long refuses new sessions: longer than a burst the transcriber works off, well short
 * of the 5 s a relay waits on a backed-up link before it cuts its session.
 */
export const LINK_BEHIND_MS = 1_000;

/** The last load report per instance, as the health probe reads them. */
export class TranscriberLoads {
  readonly #reports = new Map<string, { load: TranscriberLoad; atMs: number }>();
  #links: (instanceId: string) => LinkBacklog | undefined = () => undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Where each instance's link backlog is read (the gateway's mux links, through the instance's container). */
  watchLinks(backlog: (instanceId: string) => LinkBacklog | undefined): void {
    this.#links = backlog;
  }

  /** Files `body.load` of one /health answer (ignored when absent or malformed: older transcriber images). */
  note(instanceId: string, body: unknown): void {
    const load = (body as { load?: Partial<TranscriberLoad> } | undefined)?.load;
    if (!load || typeof load.accepting !== "boolean") return;
    this.#reports.set(instanceId, {
      load: {
        eventLoopLagMs: Number(load.eventLoopLagMs ?? 0),
        cpuShare: Number(load.cpuShare ?? 0),
        accepting: load.accepting,
        ...(typeof load.limit === "string" ? { limit: load.limit.slice(0, 200) } : {}),
      },
      atMs: this.now(),
    });
  }

  /** The instance stopped or was removed: its report no longer applies. */
  forget(instanceId: string): void {
    this.#reports.delete(instanceId);
  }

  /** `instanceId`'s report if it is fresh, else null (for /stats and the status page). */
  latest(instanceId: string): TranscriberLoad | null {
    const entry = this.#reports.get(instanceId);
    return entry && this.now() - entry.atMs <= LOAD_REPORT_MAX_AGE_MS ? entry.load : null;
  }

  /** Why `instanceId` should not take a new session now (503 + Retry-After), if its fresh report says so. */
  refusal(instanceId: string): Refusal | undefined {
    const load = this.latest(instanceId);
    if (!load || load.accepting) return this.#linkRefusal(instanceId);
    const { eventLoopLagMs, cpuShare, limit } = load;
    const why = limit ?? `event-loop lag ${eventLoopLagMs} ms, CPU ${Math.round(cpuShare * 100)} % of a core`;
    return {
      status: 503,
      reason: "transcriber_overloaded",
      message: `container ${instanceId} cannot keep up with another session (${why})`,
      retryAfterS: 2,
    };
  }

  #linkRefusal(instanceId: string): Refusal | undefined {
    const backlog = this.#links(instanceId);
    if (!backlog || backlog.behindMs < LINK_BEHIND_MS) return undefined;
    const held = `${Math.round(backlog.bytes / 1024)} KiB held for it for ${(backlog.behindMs / 1000).toFixed(1)} s`;
    return {
      status: 503,
      reason: "transcriber_overloaded",
      message: `container ${instanceId} cannot keep up with another session (its link is behind: ${held})`,
      retryAfterS: 2,
    };
  }
}

/**
 * `view` with `accepting(id)` from the transcribers' load reports, for the strategies: autoscale then passes an
 * instance that says it cannot keep up over for the next candidate or a new container, rather than refusing.
 */
export function withLoads(view: InstanceView, loads: Pick<TranscriberLoads, "refusal">): InstanceView {
  return {
    state: (id) => view.state(id),
    connections: (id) => view.connections(id),
    runningCount: () => view.runningCount(),
    accepting: (id) => loads.refusal(id) === undefined,
  };
}
