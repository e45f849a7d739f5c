/**
 * What a load figure will be once the sessions opened since it show in it. Two figures trail the sessions:
 * a transcriber's figure for its whole machine (transcriber/host-cpu.ts: up to two one-second windows, and the
 * gateway's one-second poll) and its report of its own thread's CPU (one window and the poll). In those seconds
 * a burst of new sessions (a peer gateway's clients all reconnecting at once) would be let in unseen and would
 * then slow every session there. So the gateway learns from the figures, and the session counts they cover, what
 * one session adds to each, and counts every session routed there since the figure as that much more.
 *
 * It learns only from figures of many sessions that add much to the idle figure, since a cost learned too high
 * would refuse sessions that fit; until then the figure alone decides. Where the count a figure covers is not
 * reported with it (the machine's, summed over transcribers), it is taken from the counts the gateway saw with
 * the last figures, and only a steady count teaches: while sessions open fast, the figure holds their starts (the
 * TLS handshakes to the realtime API) and an older count.
 */

/** How far the figure may trail the sessions: two one-second windows and a one-second poll. */
export const FIGURE_LAG_MS = 3_000;
/** Fewest sessions a cost is learned from. */
export const LEARN_MIN_SESSIONS = 20;
/**
 * Least the sessions must add to the idle figure (as a share of the mark) for a cost to be learned: under it,
 * other work that comes and goes (a process starting) would be read as the sessions' and refuse sessions that fit.
 */
export const LEARN_MIN_SHARE = 0.15;
/** With counts the gateway saw: teach only while the most within FIGURE_LAG_MS is within this share of the fewest. */
const STEADY_SHARE = 0.1;
/** Weight of each new idle figure in the one kept. */
const WEIGHT = 0.3;
/**
 * A cost learned from this share of the sessions the kept one covered, or more, replaces it (the figures of
 * more sessions carry less of the other work per session); a kept one this old is replaced by any.
 */
const REPLACE_SHARE = 0.8;
const REPLACE_AFTER_MS = 60_000;

export interface LoadProjectionOptions {
  /** A figure this high or more teaches nothing: a saturated machine or thread shows less than is asked of it. */
  saturated: number;
}

interface Tracked {
  /** The sessions the gateway counted at each figure, within FIGURE_LAG_MS. */
  counts: { atMs: number; sessions: number }[];
  /** What one more session adds to the figure, and over how many sessions it was learned. */
  cost?: { perSession: number; sessions: number; atMs: number };
  /** The figure with no session, once seen (0 until then: the cost is then an upper bound). */
  idle?: number;
}

/** A figure and what the sessions opened since would make it. */
export interface Projection {
  figure: number;
  /** Sessions now beyond those the figure covers. */
  opened: number;
  costPerSession: number;
  /** figure + (opened + 1) x costPerSession: with one more session. */
  withOneMore: number;
}

export class LoadProjection {
  readonly #tracked = new Map<string, Tracked>();

  constructor(
    private readonly now: () => number,
    private readonly options: LoadProjectionOptions = { saturated: 0.95 },
  ) {}

  /**
   * A figure for `key` arrived while the gateway counted `sessions` there; `covered`, when the reporter gives it,
   * is the count the figure itself covers (else the fewest of the last FIGURE_LAG_MS, and only a steady count teaches).
   */
  observe(key: string, figure: number, sessions: number, covered?: number): void {
    const now = this.now();
    const entry = this.#tracked.get(key) ?? { counts: [] };
    this.#tracked.set(key, entry);
    entry.counts = this.#recent(entry);
    entry.counts.push({ atMs: now, sessions });
    const counts = entry.counts.map((count) => count.sessions);
    // The figure may cover any of these counts; the fewest gives the higher cost, so admission errs on refusing.
    const fewest = covered ?? Math.min(...counts);
    if (fewest === 0 && (covered !== undefined || sessions === 0)) {
      entry.idle = blend(entry.idle, figure);
      return;
    }
    const added = figure - (entry.idle ?? 0);
    if (fewest < LEARN_MIN_SESSIONS || added < LEARN_MIN_SHARE || figure >= this.options.saturated) return;
    if (covered === undefined) {
      const steady = Math.max(...counts) <= fewest * (1 + STEADY_SHARE);
      if (!steady || now - entry.counts[0]!.atMs < FIGURE_LAG_MS - 1_000) return;
    }
    const kept = entry.cost;
    if (!kept || fewest >= REPLACE_SHARE * kept.sessions || now - kept.atMs > REPLACE_AFTER_MS)
      entry.cost = { perSession: added / fewest, sessions: fewest, atMs: now };
  }

  /**
   * What `key` would be with one more session, `sessions` being there now and `covered` (when reported) the count
   * its figure covers; undefined before a cost is learned.
   */
  project(key: string, figure: number, sessions: number, covered?: number): Projection | undefined {
    const entry = this.#tracked.get(key);
    if (entry?.cost === undefined) return undefined;
    const recent = this.#recent(entry);
    const fewest = covered ?? (recent.length === 0 ? sessions : Math.min(...recent.map((count) => count.sessions)));
    const opened = Math.max(0, sessions - fewest);
    const costPerSession = entry.cost.perSession;
    return { figure, opened, costPerSession, withOneMore: figure + (opened + 1) * costPerSession };
  }

  /** What one more session is learned to add to `key`'s figure; undefined until learned. */
  costPerSession(key: string): number | undefined {
    return this.#tracked.get(key)?.cost?.perSession;
  }

  /** Stops tracking `key` (an instance that stopped). */
  forget(key: string): void {
    this.#tracked.delete(key);
  }

  /** The counts still within FIGURE_LAG_MS of now. */
  #recent(entry: Tracked): Tracked["counts"] {
    const now = this.now();
    return entry.counts.filter((count) => now - count.atMs <= FIGURE_LAG_MS);
  }
}

/** How many more sessions fit under `mark` by `projection` (0 when none). */
export function roomUnder(projection: Projection, mark: number): number {
  // The epsilon keeps a room that divides exactly (0.3 / 0.003) from rounding down one short.
  return Math.max(0, Math.floor((mark - projection.figure) / projection.costPerSession + 1e-9) - projection.opened);
}

function blend(kept: number | undefined, sample: number): number {
  return kept === undefined ? sample : kept + WEIGHT * (sample - kept);
}
