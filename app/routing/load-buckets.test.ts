import { describe, expect, test } from "bun:test";
import { seededRandom } from "./conformance.ts";
import { LoadBuckets } from "./load-buckets.ts";

describe("LoadBuckets", () => {
  test("files ranks sorted by level, moves them, and drops full or removed ones", () => {
    const buckets = new LoadBuckets(3);
    for (const [rank, load] of [
      [5, 1],
      [2, 1],
      [9, 0],
      [7, 2],
      [4, 3],
    ] as const)
      buckets.file(rank, load);
    expect([buckets.ranksAt(0), buckets.ranksAt(1), buckets.ranksAt(2)]).toEqual([[9], [2, 5], [7]]);
    expect(buckets.levelOf(4)).toBeUndefined(); // load 3 of 3 levels: full
    buckets.file(2, 0);
    buckets.file(7, 5);
    buckets.remove(9);
    buckets.remove(100); // not filed: nothing happens
    expect([buckets.ranksAt(0), buckets.ranksAt(1), buckets.ranksAt(2)]).toEqual([[2], [5], []]);
    expect(buckets.size).toBe(2);
  });

  test("least() picks the lowest load, ties to the lowest rank, skipping what cannot take a session", () => {
    const buckets = new LoadBuckets(4);
    for (const [rank, load] of [
      [1, 2],
      [3, 0],
      [6, 0],
      [8, 1],
    ] as const)
      buckets.file(rank, load);
    expect(buckets.least((_rank, level) => level)).toBe(3);
    expect(buckets.least((rank, level) => (rank === 3 ? 4 : level))).toBe(6); // 3 is ineligible
    expect(buckets.least((rank, level) => (rank === 3 || rank === 6 ? 4 : level))).toBe(8);
    expect(buckets.least(() => 4)).toBe(-1);
    expect(new LoadBuckets(4).least(() => 0)).toBe(-1);
  });

  test("least() treats the filed level as a lower bound: a candidate loaded above it still competes fairly", () => {
    const buckets = new LoadBuckets(5);
    for (const [rank, load] of [
      [1, 0],
      [2, 1],
      [0, 1],
    ] as const)
      buckets.file(rank, load);
    // rank 1 is filed at 0 but holds 1 now (a lease ahead of its hook): tie at load 1 goes to rank 0.
    expect(buckets.least((rank, level) => (rank === 1 ? 1 : level))).toBe(0);
    // rank 1 holds 3 now: rank 0 (load 1) wins.
    expect(buckets.least((rank, level) => (rank === 1 ? 3 : level))).toBe(0);
    // everyone above their level: rank 1 at 2 beats 0 and 2 at 3.
    expect(buckets.least((rank, level) => (rank === 1 ? 2 : level + 2))).toBe(1);
  });

  test("first() finds the lowest accepted rank in a range of one level", () => {
    const buckets = new LoadBuckets(2);
    for (const rank of [0, 1, 4, 7, 12]) buckets.file(rank, 0);
    buckets.file(3, 1);
    expect(buckets.first(0, 1, 10, () => true)).toBe(1);
    expect(buckets.first(0, 2, 10, (rank) => rank !== 4)).toBe(7);
    expect(buckets.first(0, 8, 12, () => true)).toBe(-1);
    expect(buckets.first(1, 0, 10, () => true)).toBe(3);
  });

  test("matches a brute-force pick over a random sequence of filings and loads", () => {
    const random = seededRandom(7);
    const levels = 6;
    const buckets = new LoadBuckets(levels);
    const filed = new Map<number, number>();
    for (let step = 0; step < 5_000; step++) {
      const rank = Math.floor(random() * 60);
      if (random() < 0.2) {
        buckets.remove(rank);
        filed.delete(rank);
      } else {
        const load = Math.floor(random() * (levels + 2));
        buckets.file(rank, load);
        if (load < levels) filed.set(rank, load);
        else filed.delete(rank);
      }
      // Loads now: the filed one, sometimes above it, sometimes ineligible (levels).
      const extra = new Map([...filed.keys()].map((r) => [r, random() < 0.1 ? levels : random() < 0.2 ? 1 : 0]));
      const loadNow = (r: number, level: number) => Math.min(levels, level + extra.get(r)!);
      let expected = -1;
      let expectedLoad = levels;
      for (const [r, level] of [...filed].sort((a, b) => a[0] - b[0])) {
        const load = loadNow(r, level);
        if (load < expectedLoad) [expected, expectedLoad] = [r, load];
      }
      expect(buckets.least(loadNow)).toBe(expected);
      expect(buckets.size).toBe(filed.size);
    }
  });
});
