/**
 * Early refusal from a transcriber's load, by two signals. Its own report: each transcriber reports on
 * `GET /health` under `load` (transcriber/load-meter.ts: event-loop lag, CPU share, `accepting`). And its link:
 * the audio the gateway holds for it (mux-link.ts), which grows when it reads slower than its sessions send, as
 * on a machine whose CPU is all taken, where its own loop can still turn on time. A new session routed to an
 * instance that is not accepting, or whose link has been behind for LINK_BEHIND_MS, is refused 503 + Retry-After
 * before the upgrade, so the sessions already there keep their audio instead of being cut with 1013
 * transcriber_backpressure once the link backs up to the limit.
 *
 * And the machine under it: each report carries how busy its whole machine was (transcriber/host-cpu.ts). On a
 * machine whose CPU is all taken, every transcriber's own loop still turns on time and its link falls behind only
 * seconds after the sessions that overfilled it were let in; the machine's figure says so at once. Over
 * HOST_CPU_MAX, an instance on that machine takes no new session; one with no report yet (just started) takes
 * none while every machine that reports is over it, so autoscale does not start containers on a full machine.
 * The figures trail the sessions by a few seconds, so once the gateway has learned what a session costs a
 * machine, and a transcriber's thread against its own CPU mark (load-projection.ts), the sessions routed there
 * since the figure count too: a burst is refused at the mark instead of being let in whole before any figure moves.
 */
import type { LoadReport } from "../../transcriber/load-meter.ts";
import { LoadProjection, type Projection, roomUnder } from "./load-projection.ts";
import type { LinkBacklog } from "./mux-link.ts";
import type { Refusal } from "../refusal.ts";
import type { InstanceView } from "../routing/strategy.ts";

/** The `load` object of a transcriber's /health answer (transcriber/load-meter.ts writes it). */
export type TranscriberLoad = LoadReport;

/** Reports older than this are not trusted either way (the instance may have recovered or died). */
export const LOAD_REPORT_MAX_AGE_MS = 3_000;
/**
 * A link behind for this long refuses new sessions: longer than a burst the transcriber works off, well short
 * of the 5 s a relay waits on a backed-up link before the link starts shedding its newest sessions.
 */
export const LINK_BEHIND_MS = 1_000;

/** One machine as /stats shows it (TranscriberLoads.machines). */
export interface MachineView {
  machine: string;
  busy: number;
  sessions: number;
  costPerSession: number | null;
  withOneMore: number;
  room: number | null;
}

/** The last load report per instance, as the health probe reads them. */
export class TranscriberLoads {
  readonly #reports = new Map<string, { load: TranscriberLoad; atMs: number }>();
  #links: (instanceId: string) => LinkBacklog | undefined = () => undefined;
  #sessions: (instanceId: string) => number = () => 0;
  /** Each machine's figure (a share of all its cores), by machine id. */
  readonly #projection: LoadProjection;
  /** Each transcriber thread's CPU share over its mark (1 = at the mark), by instance id. */
  readonly #threads: LoadProjection;

  constructor(
    private readonly now: () => number = Date.now,
    /** HOST_CPU_MAX, read on each decision (a reload may change it); 1 turns the machine's figure off. */
    private readonly hostCpuMax: () => number = () => 1,
  ) {
    this.#projection = new LoadProjection(now);
    // A thread may run past its mark up to its cap (1 / 0.85 of the mark): saturated near that.
    this.#threads = new LoadProjection(now, { saturated: 1.1 });
  }

  /** Where each instance's link backlog is read (the gateway's mux links, through the instance's container). */
  watchLinks(backlog: (instanceId: string) => LinkBacklog | undefined): void {
    this.#links = backlog;
  }

  /** Where each instance's session count is read (counted when a session is routed, so a burst sees itself). */
  watchSessions(sessions: (instanceId: string) => number): void {
    this.#sessions = sessions;
  }

  /** Files `body.load` of one /health answer (ignored when absent or malformed: older transcriber images). */
  note(instanceId: string, body: unknown): void {
    const load = (body as { load?: Partial<TranscriberLoad> } | undefined)?.load;
    if (!load || typeof load.accepting !== "boolean") return;
    const filed: TranscriberLoad = {
      eventLoopLagMs: Number(load.eventLoopLagMs ?? 0),
      cpuShare: Number(load.cpuShare ?? 0),
      accepting: load.accepting,
      ...(typeof load.limit === "string" ? { limit: load.limit.slice(0, 200) } : {}),
      ...(typeof load.hostCpuBusy === "number" && Number.isFinite(load.hostCpuBusy) ? { hostCpuBusy: load.hostCpuBusy } : {}),
      ...(typeof load.hostId === "string" ? { hostId: load.hostId.slice(0, 64) } : {}),
      ...(positive(load.cpuMax) ? { cpuMax: load.cpuMax } : {}),
      ...(typeof load.sessions === "number" && Number.isFinite(load.sessions) && load.sessions >= 0 ? { sessions: load.sessions } : {}),
    };
    this.#reports.set(instanceId, { load: filed, atMs: this.now() });
    if (filed.cpuMax !== undefined && filed.sessions !== undefined)
      this.#threads.observe(instanceId, filed.cpuShare / filed.cpuMax, this.#sessions(instanceId), filed.sessions);
    if (filed.hostCpuBusy !== undefined) {
      const machine = filed.hostId ?? instanceId;
      this.#projection.observe(machine, filed.hostCpuBusy, this.#machineSessions(machine));
    }
  }

  /**
   * A session on `instanceId` ended here: a report that refused for a count (`limit`: every recognizer in use) is
   * out of date at once, so the next session is not turned away for up to a poll while a recognizer is free.
   */
  sessionEnded(instanceId: string): void {
    if (this.#reports.get(instanceId)?.load.limit !== undefined) this.#reports.delete(instanceId);
  }

  /** The instance stopped or was removed: its report no longer applies. */
  forget(instanceId: string): void {
    this.#reports.delete(instanceId);
    this.#threads.forget(instanceId);
  }

  /** `instanceId`'s report if it is fresh, else null (for /stats and the status page). */
  latest(instanceId: string): TranscriberLoad | null {
    const entry = this.#reports.get(instanceId);
    return entry && this.now() - entry.atMs <= LOAD_REPORT_MAX_AGE_MS ? entry.load : null;
  }

  /** Why `instanceId` should not take a new session now (503 + Retry-After), if its fresh report says so. */
  refusal(instanceId: string): Refusal | undefined {
    const load = this.latest(instanceId);
    if (!load || load.accepting)
      return this.#hostRefusal(instanceId, load) ?? this.#threadRefusal(instanceId, load) ?? this.#linkRefusal(instanceId);
    const { eventLoopLagMs, cpuShare, limit } = load;
    const why = limit ?? `event-loop lag ${eventLoopLagMs} ms, CPU ${Math.round(cpuShare * 100)} % of a core`;
    return overloaded(`container ${instanceId} cannot keep up with another session (${why})`);
  }

  #hostRefusal(instanceId: string, load: TranscriberLoad | null): Refusal | undefined {
    const max = this.hostCpuMax();
    if (max >= 1) return undefined;
    const over = `over HOST_CPU_MAX=${max}`;
    if (load?.hostCpuBusy !== undefined) {
      if (load.hostCpuBusy > max)
        return overloaded(
          `container ${instanceId} cannot keep up with another session (its machine's CPU is ${percent(load.hostCpuBusy)} busy, ${over})`,
        );
      const machine = load.hostId ?? instanceId;
      const projection = this.#projection.project(machine, load.hostCpuBusy, this.#machineSessions(machine));
      if (!projection || projection.withOneMore <= max) return undefined;
      const { figure: busy, opened, costPerSession, withOneMore } = projection;
      const each = `${(costPerSession * 100).toFixed(2)} % each`;
      return overloaded(
        `container ${instanceId} cannot keep up with another session (its machine's CPU is ${percent(busy)} busy, and with the ${opened} sessions opened since that figure and one more, at ${each}, it would be ${percent(withOneMore)}, ${over})`,
      );
    }
    const withOneMore = this.#machineShares().map(({ busy, projection }) => projection?.withOneMore ?? busy);
    if (withOneMore.length === 0 || withOneMore.some((share) => share <= max)) return undefined;
    const least = Math.min(...withOneMore);
    return overloaded(
      `no machine has CPU for another session (container ${instanceId} has no load report yet, and every machine reporting would be ${percent(least)} busy or more with it, ${over})`,
    );
  }

  /** The thread's projection: its report's CPU share and the sessions routed since, against its own mark. */
  #threadProjection(instanceId: string, load: TranscriberLoad | null) {
    if (load?.cpuMax === undefined || load.sessions === undefined) return undefined;
    return this.#threads.project(instanceId, load.cpuShare / load.cpuMax, this.#sessions(instanceId), load.sessions);
  }

  #threadRefusal(instanceId: string, load: TranscriberLoad | null): Refusal | undefined {
    const projection = this.#threadProjection(instanceId, load);
    if (!projection || projection.withOneMore <= 1) return undefined;
    const mark = load!.cpuMax!;
    const each = `${(projection.costPerSession * mark * 100).toFixed(2)} % of a core each`;
    return overloaded(
      `container ${instanceId} cannot keep up with another session (its CPU is ${percent(load!.cpuShare)} of a core, and with the ${projection.opened} sessions opened since that report and one more, at ${each}, it would be over its mark of ${percent(mark)})`,
    );
  }

  /** How many more sessions `instanceId`'s own CPU mark takes, once its cost is learned (for /stats); else null. */
  roomFor(instanceId: string): number | null {
    const load = this.latest(instanceId);
    const projection = this.#threadProjection(instanceId, load);
    return projection ? roomUnder(projection, 1) : null;
  }

  /** The busiest machine's share as its transcribers' fresh reports give it (for /metrics); undefined with none. */
  busiestMachine(): number | undefined {
    const machines = this.#machineShares();
    return machines.length === 0 ? undefined : Math.max(...machines.map(({ busy }) => busy));
  }

  /**
   * Each machine that reports a figure, for /stats: the figure, its sessions, the learned cost, what one more
   * session would make it, and how many more it has room for under HOST_CPU_MAX (null until a cost is learned,
   * or with the mark off).
   */
  machines(): MachineView[] {
    const max = this.hostCpuMax();
    return this.#machineShares().map(({ machine, busy, sessions, projection }) => ({
      machine,
      busy,
      sessions,
      costPerSession: projection?.costPerSession ?? null,
      withOneMore: projection?.withOneMore ?? busy,
      room: projection && max < 1 ? roomUnder(projection, max) : null,
    }));
  }

  /**
   * The freshest busy figure of each machine that reports one (a report without a machine id counts as its own),
   * the sessions on it, and its projection once a cost is learned.
   */
  #machineShares(): { machine: string; busy: number; sessions: number; projection: Projection | undefined }[] {
    const now = this.now();
    const machines = new Map<string, { busy: number; atMs: number }>();
    for (const [instanceId, { load, atMs }] of this.#reports) {
      if (load.hostCpuBusy === undefined || now - atMs > LOAD_REPORT_MAX_AGE_MS) continue;
      const key = load.hostId ?? instanceId;
      const seen = machines.get(key);
      if (!seen || seen.atMs < atMs) machines.set(key, { busy: load.hostCpuBusy, atMs });
    }
    return [...machines].map(([machine, { busy }]) => {
      const sessions = this.#machineSessions(machine);
      return { machine, busy, sessions, projection: this.#projection.project(machine, busy, sessions) };
    });
  }

  /** Sessions on the instances whose fresh report names `machine` (an instance without a machine id is its own). */
  #machineSessions(machine: string): number {
    const now = this.now();
    let sessions = 0;
    for (const [instanceId, { load, atMs }] of this.#reports)
      if ((load.hostId ?? instanceId) === machine && now - atMs <= LOAD_REPORT_MAX_AGE_MS) sessions += this.#sessions(instanceId);
    return sessions;
  }

  #linkRefusal(instanceId: string): Refusal | undefined {
    const backlog = this.#links(instanceId);
    if (!backlog || backlog.behindMs < LINK_BEHIND_MS) return undefined;
    const held = `${Math.round(backlog.bytes / 1024)} KiB held for it for ${(backlog.behindMs / 1000).toFixed(1)} s`;
    return overloaded(`container ${instanceId} cannot keep up with another session (its link is behind: ${held})`);
  }
}

function positive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/** A 503 `transcriber_overloaded` the client may retry in 2 s. */
function overloaded(message: string): Refusal {
  return { status: 503, reason: "transcriber_overloaded", message, retryAfterS: 2 };
}

function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
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
