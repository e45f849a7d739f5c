/**
 * What a machine's CPU will be once the sessions opened since its last figure show in it. A transcriber's figure
 * for its machine (transcriber/host-cpu.ts) trails the sessions on that machine by up to two one-second windows
 * and the gateway's poll: seconds in which a burst of new sessions (a peer gateway's clients all reconnecting at
 * once) would be let in unseen, and would then slow every session there. So the gateway learns from the figures
 * and the session counts it saw with them what one session costs each machine, and counts every session opened
 * since the figure as that much more. It learns only from figures of many sessions that add much to the
 * machine's idle figure, since a cost learned too high would refuse sessions that fit; until then, and on a
 * machine whose sessions never add that much, the figure alone decides.
 */

/** How far the figure may trail the sessions: two one-second windows and a one-second poll. */
export const FIGURE_LAG_MS = 3_000;
/** Fewest sessions a cost is learned from. */
export const LEARN_MIN_SESSIONS = 20;
/**
 * Least the sessions must add to the machine's idle figure for a cost to be learned from them: under it, other
 * work that comes and goes (a process starting) would be read as the sessions' and refuse sessions that fit.
 */
export const LEARN_MIN_SHARE = 0.15;
/**
 * A figure teaches only while the sessions hardly changed over the lag (the most within this share of the
 * fewest): while they open fast, the figure holds their starts (TLS handshakes and the like) and a different count.
 */
const STEADY_SHARE = 0.1;
/** A figure this busy or more teaches nothing: a saturated machine shows less than its sessions ask of it. */
const SATURATED = 0.95;
/** Weight of each new idle figure in the one kept. */
const WEIGHT = 0.3;
/**
 * A cost learned from this share of the sessions the kept one covered, or more, replaces it (the figures of
 * more sessions carry less of the machine's other work per session); a kept one this old is replaced by any.
 */
const REPLACE_SHARE = 0.8;
const REPLACE_AFTER_MS = 60_000;

interface Machine {
  /** The sessions on its instances at each of its figures, within FIGURE_LAG_MS. */
  counts: { atMs: number; sessions: number }[];
  /** What one more session adds to the machine's busy share, and over how many sessions it was learned. */
  cost?: { perSession: number; sessions: number; atMs: number };
  /** The machine's busy share with no session on it, once seen (0 until then: the cost is then an upper bound). */
  idleBusy?: number;
}

/** A machine's figure and what the sessions opened since would make it. */
export interface Projection {
  busy: number;
  /** Sessions on the machine now beyond the fewest it had while the figure was measured. */
  opened: number;
  costPerSession: number;
  /** busy + (opened + 1) x costPerSession: the machine with one more session. */
  withOneMore: number;
}

export class MachineProjection {
  readonly #machines = new Map<string, Machine>();

  constructor(private readonly now: () => number) {}

  /** A figure for `machine` (its busy share) arrived while its instances had `sessions` sessions in all. */
  observe(machine: string, busy: number, sessions: number): void {
    const entry = this.#machines.get(machine) ?? { counts: [] };
    this.#machines.set(machine, entry);
    entry.counts = this.#recent(entry);
    entry.counts.push({ atMs: this.now(), sessions });
    // The figure may cover any of these counts; the fewest gives the higher cost, so admission errs on refusing.
    const covered = Math.min(...entry.counts.map((count) => count.sessions));
    if (covered === 0 && sessions === 0) {
      entry.idleBusy = blend(entry.idleBusy, busy);
      return;
    }
    const added = busy - (entry.idleBusy ?? 0);
    if (covered < LEARN_MIN_SESSIONS || added < LEARN_MIN_SHARE || busy >= SATURATED) return;
    const now = this.now();
    const most = Math.max(...entry.counts.map((count) => count.sessions));
    const spanMs = now - entry.counts[0]!.atMs;
    if (most > covered * (1 + STEADY_SHARE) || spanMs < FIGURE_LAG_MS - 1_000) return;
    const kept = entry.cost;
    if (!kept || covered >= REPLACE_SHARE * kept.sessions || now - kept.atMs > REPLACE_AFTER_MS)
      entry.cost = { perSession: added / covered, sessions: covered, atMs: now };
  }

  /** What `machine` would be with one more session, `sessions` being on it now; undefined before a cost is learned. */
  project(machine: string, busy: number, sessions: number): Projection | undefined {
    const entry = this.#machines.get(machine);
    if (entry?.cost === undefined) return undefined;
    const recent = this.#recent(entry);
    const covered = recent.length === 0 ? sessions : Math.min(...recent.map((count) => count.sessions));
    const opened = Math.max(0, sessions - covered);
    const costPerSession = entry.cost.perSession;
    return { busy, opened, costPerSession, withOneMore: busy + (opened + 1) * costPerSession };
  }

  /** What one more session is learned to add to `machine`'s busy share; undefined until learned. */
  costPerSession(machine: string): number | undefined {
    return this.#machines.get(machine)?.cost?.perSession;
  }

  /** The counts still within FIGURE_LAG_MS of now. */
  #recent(entry: Machine): Machine["counts"] {
    const now = this.now();
    return entry.counts.filter((count) => now - count.atMs <= FIGURE_LAG_MS);
  }
}

function blend(kept: number | undefined, sample: number): number {
  return kept === undefined ? sample : kept + WEIGHT * (sample - kept);
}
