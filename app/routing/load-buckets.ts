/**
 * Candidates filed by load, for a least-loaded pick that does not scan every instance. Each candidate is a
 * number, its rank (the tie order: smaller goes first); it sits in the bucket of its load, 0..levels-1, and a
 * load of `levels` or more (full) keeps it out. Buckets are sorted arrays of ranks; the levels in use are kept
 * sorted too, so a pick visits only non-empty levels, lowest first. Filing costs a binary search and a splice.
 */

/** Index of the first element of sorted `a` that is >= `x`. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LoadBuckets {
  /** level -> ranks filed there, ascending; only non-empty levels have an entry. */
  private readonly buckets = new Map<number, number[]>();
  /** The non-empty levels, ascending. */
  private readonly levelsInUse: number[] = [];
  /** rank -> the level it is filed under. */
  private readonly filed = new Map<number, number>();

  constructor(readonly levels: number) {}

  /** Files `rank` under `load` (moving it if filed elsewhere); a load outside 0..levels-1 takes it out. */
  file(rank: number, load: number): void {
    const at = this.filed.get(rank);
    if (at === load) return;
    if (at !== undefined) this.take(rank, at);
    if (!(load >= 0 && load < this.levels)) return;
    let bucket = this.buckets.get(load);
    if (!bucket) {
      this.buckets.set(load, (bucket = []));
      this.levelsInUse.splice(lowerBound(this.levelsInUse, load), 0, load);
    }
    bucket.splice(lowerBound(bucket, rank), 0, rank);
    this.filed.set(rank, load);
  }

  remove(rank: number): void {
    const at = this.filed.get(rank);
    if (at !== undefined) this.take(rank, at);
  }

  /** The level `rank` is filed under, if any. */
  levelOf(rank: number): number | undefined {
    return this.filed.get(rank);
  }

  /** Ranks filed under `level`, ascending (a copy). */
  ranksAt(level: number): number[] {
    return [...(this.buckets.get(level) ?? [])];
  }

  get size(): number {
    return this.filed.size;
  }

  /**
   * The rank with the smallest (load, rank), or -1. `loadNow(rank, level)` is a candidate's load now: at least
   * the level it is filed under (the filed load is a lower bound), `levels` or more when it cannot take a
   * session. A candidate whose load equals its level ends the search, so this visits the candidates ahead of
   * the answer only (ineligible ones, or ones whose load now is above their level).
   */
  least(loadNow: (rank: number, level: number) => number): number {
    let best = -1;
    let bestLoad = this.levels;
    for (const level of this.levelsInUse) {
      if (level > bestLoad) break;
      for (const rank of this.buckets.get(level)!) {
        if (level === bestLoad && rank >= best) break;
        const load = loadNow(rank, level);
        if (load < bestLoad || (load === bestLoad && rank < best)) [best, bestLoad] = [rank, load];
        if (load === level) return best; // nothing later in this bucket or above it can beat it
      }
    }
    return best;
  }

  /** The first rank in [from, to) filed under `level` that `accept` takes, ascending; -1 when none. */
  first(level: number, from: number, to: number, accept: (rank: number) => boolean): number {
    const bucket = this.buckets.get(level);
    if (!bucket) return -1;
    for (let i = lowerBound(bucket, from); i < bucket.length; i++) {
      const rank = bucket[i]!;
      if (rank >= to) break;
      if (accept(rank)) return rank;
    }
    return -1;
  }

  private take(rank: number, level: number): void {
    const bucket = this.buckets.get(level)!;
    bucket.splice(lowerBound(bucket, rank), 1);
    this.filed.delete(rank);
    if (bucket.length === 0) {
      this.buckets.delete(level);
      this.levelsInUse.splice(lowerBound(this.levelsInUse, level), 1);
    }
  }
}
