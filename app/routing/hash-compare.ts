/**
 * Measures the three consistent-hashing candidates for the pool on the same ids: balance (max/mean load of
 * 10,000 ids on 20 members), movement (fraction of ids that change member when 20 grow to 21) and lookup time.
 * Run: `bun app/routing/hash-compare.ts`. The figures chosen from are recorded at the top of pool.ts.
 */
import { fmix32, hash32, rendezvousTop } from "./hashing.ts";
import { poolId } from "./instance-ids.ts";

type Lookup = (keyHash: number) => number;

/** Jump consistent hash (Lamping & Veach 2014) with a 32-bit xorshift generator seeded by the key. */
export function jump(members: number): Lookup {
  return (keyHash) => {
    let state = keyHash || 1;
    let b = -1;
    let j = 0;
    while (j < members) {
      b = j;
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const r = ((state >>> 0) + 1) / 0x1_0000_0000;
      j = Math.floor((b + 1) / r);
    }
    return b;
  };
}

/** Maglev (Eisenbud et al. 2016): a lookup table of prime size filled by each member's permutation in turn. */
export function maglev(members: number, tableSize = 65_537): Lookup {
  const table = new Int32Array(tableSize).fill(-1);
  const offsets = [];
  const skips = [];
  for (let i = 0; i < members; i++) {
    offsets.push(hash32(poolId(i)) % tableSize);
    skips.push((fmix32(hash32(poolId(i)) ^ 0x5bd1e995) % (tableSize - 1)) + 1);
  }
  const next = new Array<number>(members).fill(0);
  for (let filled = 0; filled < tableSize; ) {
    for (let i = 0; i < members && filled < tableSize; i++) {
      let slot = (offsets[i]! + next[i]! * skips[i]!) % tableSize;
      while (table[slot]! >= 0) slot = (offsets[i]! + ++next[i]! * skips[i]!) % tableSize;
      table[slot] = i;
      next[i]!++;
      filled++;
    }
  }
  return (keyHash) => table[keyHash % tableSize]!;
}

/** Rendezvous over member names `pool-0`..: the pool's choice. */
export function rendezvous(members: number): Lookup {
  const seeds = Array.from({ length: members }, (_, i) => hash32(poolId(i)));
  return (keyHash) => rendezvousTop(keyHash, seeds);
}

export interface HashFigures {
  maxOverMean: number;
  movedFraction: number;
  lookupNs: number;
}

/** Balance, movement and mean lookup time of one algorithm on `ids`. */
export function measure(make: (members: number) => Lookup, ids: readonly string[], members = 20): HashFigures {
  const before = make(members);
  const after = make(members + 1);
  const hashes = ids.map(hash32);
  const loads = new Array<number>(members).fill(0);
  let moved = 0;
  for (const h of hashes) {
    const member = before(h);
    loads[member]!++;
    if (after(h) !== member) moved++;
  }
  const rounds = 20;
  const started = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) for (const h of hashes) sink ^= before(h);
  const lookupNs = ((performance.now() - started) * 1e6) / (rounds * hashes.length) + (sink & 0);
  return { maxOverMean: Math.max(...loads) / (ids.length / members), movedFraction: moved / ids.length, lookupNs };
}

if (import.meta.main) {
  const sets: Record<string, string[]> = {
    "user-<i>": Array.from({ length: 10_000 }, (_, i) => `user-${i}`),
    uuid: Array.from({ length: 10_000 }, () => crypto.randomUUID()),
  };
  for (const [name, ids] of Object.entries(sets)) {
    for (const [algorithm, make] of Object.entries({ rendezvous, jump, maglev })) {
      const f = measure(make, ids);
      console.log(
        `${name.padEnd(9)} ${algorithm.padEnd(10)} max/mean ${f.maxOverMean.toFixed(3)}  moved ${(f.movedFraction * 21).toFixed(3)}/21  lookup ${f.lookupNs.toFixed(0)} ns`,
      );
    }
  }
}
