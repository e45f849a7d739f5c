/**
 * Hash functions behind the pool's consistent hashing. Pure JavaScript on purpose: the same sessionId must map to
 * the same member in every gateway replica and every release, whatever the runtime's native hash is.
 */

/** murmur3's 32-bit finalizer: full avalanche, so similar ids (`user-1`, `user-2`) land far apart. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash of a string: FNV-1a over UTF-16 code units, then fmix32 (FNV alone mixes its last bytes poorly). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/**
 * Rendezvous (highest random weight) score of a key for one member: `seed` is hash32 of the member's name.
 * Two mixing rounds keep a key's scores on different members uncorrelated.
 */
export function rendezvousScore(keyHash: number, seed: number): number {
  return fmix32(Math.imul(fmix32(keyHash ^ seed), 0x9e3779b1) ^ seed);
}

/** Index of the member with the highest score (ties: lowest index). O(members), no allocation. */
export function rendezvousTop(keyHash: number, seeds: readonly number[]): number {
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < seeds.length; i++) {
    const score = rendezvousScore(keyHash, seeds[i]!);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** Every member index, highest score first: the key's fallback order when its first choice cannot take it. */
export function rendezvousOrder(keyHash: number, seeds: readonly number[]): number[] {
  const scores = seeds.map((seed) => rendezvousScore(keyHash, seed));
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}
