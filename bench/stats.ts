/** Percentiles over latency samples. */

/** p50/p95/p99/max (and count) of `samples`, in the samples' unit, rounded to 3 decimals. Sorts in place. */
export function summarize(samples: Float64Array | number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = samples instanceof Float64Array ? samples.sort() : Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { n, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const at = (q: number) => round3(sorted[Math.min(n - 1, Math.floor(q * n))]!);
  return { n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round3(sorted[n - 1]!) };
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
