/**
 * Pitch of voiced audio, so a transcript can say which tone arrived. Normalized autocorrelation picks the
 * period; the shortest period within 10% of the best correlation wins, which keeps a pure tone from being
 * read an octave low (its period's multiples correlate just as well).
 */

/** Lowest and highest pitch reported; speech and test tones live well inside. */
export const MIN_PITCH_HZ = 60;
export const MAX_PITCH_HZ = 1000;
/** More audio than this adds cost, not accuracy. */
const MAX_ANALYSIS_SAMPLES = 6000;

/** The coarse search runs on the audio averaged over this many samples (24 kHz -> 6 kHz): 16x fewer products. */
const DECIMATION = 3;

/**
 * Estimates the fundamental frequency of `samples` (mono PCM at `sampleRateHz`), in Hz, unrounded.
 * Returns undefined when there is too little audio or no periodicity (noise, silence).
 *
 * Two passes, as the stand-in does this once per committed turn for hundreds of sessions: the period is found
 * on a decimated copy (every lag, the shortest-within-10% rule), then refined at the full rate over the few
 * lags around it. A search over every lag at the full rate costs about ten times as much for the same answer.
 */
export function estimatePitchHz(samples: Int16Array, sampleRateHz: number): number | undefined {
  const minLag = Math.floor(sampleRateHz / MAX_PITCH_HZ);
  const maxLag = Math.ceil(sampleRateHz / MIN_PITCH_HZ);
  // Analyse the middle of the audio: burst edges carry the least stable period.
  const length = Math.min(samples.length, MAX_ANALYSIS_SAMPLES);
  if (length < maxLag * 2) return undefined;
  const from = Math.floor((samples.length - length) / 2);
  const x = Float64Array.from(samples.subarray(from, from + length));

  const coarse = decimate(x, DECIMATION);
  const coarseLag = pickPeriod(coarse, Math.max(2, Math.floor(minLag / DECIMATION)), Math.ceil(maxLag / DECIMATION));
  if (coarseLag === undefined) return undefined;

  // Refine at the full rate: the best lag within one coarse step either side, then between samples.
  const lo = Math.max(minLag, (coarseLag - 1) * DECIMATION);
  const hi = Math.min(maxLag, (coarseLag + 1) * DECIMATION);
  const corr = new Map<number, number>();
  const squares = prefixSquares(x);
  const at = (lag: number) => {
    let r = corr.get(lag);
    if (r === undefined) corr.set(lag, (r = normalizedCorrelation(x, lag, squares)));
    return r;
  };
  let bestLag = lo;
  for (let lag = lo; lag <= hi; lag++) if (at(lag) > at(bestLag)) bestLag = lag;
  return sampleRateHz / (bestLag + parabolicOffset(at(bestLag - 1), at(bestLag), at(bestLag + 1)));
}

/** Averages each run of `factor` samples: a crude low-pass and decimation, plenty for pitches up to 1 kHz. */
function decimate(x: Float64Array, factor: number): Float64Array {
  const out = new Float64Array(Math.floor(x.length / factor));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < factor; k++) sum += x[i * factor + k]!;
    out[i] = sum / factor;
  }
  return out;
}

/**
 * The period of `x` in samples, between `minLag` and `maxLag`: the shortest local peak of the normalized
 * autocorrelation within 10 % of the best one (a pure tone's multiples correlate as well as its period), or
 * undefined when nothing correlates above 0.5.
 */
function pickPeriod(x: Float64Array, minLag: number, maxLag: number): number | undefined {
  const corr = new Float64Array(maxLag + 2);
  const squares = prefixSquares(x);
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) corr[lag] = normalizedCorrelation(x, lag, squares);
  let best = 0;
  for (let lag = minLag; lag <= maxLag; lag++) best = Math.max(best, corr[lag]!);
  if (best < 0.5) return undefined;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const r = corr[lag]!;
    if (r >= 0.9 * best && r >= corr[lag - 1]! && r >= corr[lag + 1]!) return lag;
  }
  return undefined;
}

/** `squares[i]` is the sum of `x[0..i)` squared: both windows' energies at any lag in two subtractions. */
function prefixSquares(x: Float64Array): Float64Array {
  const squares = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) squares[i + 1] = squares[i]! + x[i]! * x[i]!;
  return squares;
}

/** Correlation of `x` with itself `lag` samples later, over their overlap, normalized by both parts' energy. */
function normalizedCorrelation(x: Float64Array, lag: number, squares: Float64Array): number {
  const n = x.length - lag;
  if (n <= 0) return 0;
  let dot = 0;
  for (let i = 0; i < n; i++) dot += x[i]! * x[i + lag]!;
  const energyA = squares[n]!;
  const energyB = squares[x.length]! - squares[lag]!;
  return energyA > 0 && energyB > 0 ? dot / Math.sqrt(energyA * energyB) : 0;
}

/** Sub-sample position of the peak between three neighbouring values, in -0.5..0.5. */
function parabolicOffset(left: number, centre: number, right: number): number {
  const denominator = left - 2 * centre + right;
  if (denominator === 0) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (left - right)) / denominator));
}
