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

/**
 * Estimates the fundamental frequency of `samples` (mono PCM at `sampleRateHz`), in Hz, unrounded.
 * Returns undefined when there is too little audio or no periodicity (noise, silence).
 */
export function estimatePitchHz(samples: Int16Array, sampleRateHz: number): number | undefined {
  const minLag = Math.floor(sampleRateHz / MAX_PITCH_HZ);
  const maxLag = Math.ceil(sampleRateHz / MIN_PITCH_HZ);
  // Analyse the middle of the audio: burst edges carry the least stable period.
  const length = Math.min(samples.length, MAX_ANALYSIS_SAMPLES);
  if (length < maxLag * 2) return undefined;
  const from = Math.floor((samples.length - length) / 2);
  const x = Float64Array.from(samples.subarray(from, from + length));

  const corr = new Float64Array(maxLag + 2);
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) corr[lag] = normalizedCorrelation(x, lag);

  let best = 0;
  for (let lag = minLag; lag <= maxLag; lag++) best = Math.max(best, corr[lag]!);
  if (best < 0.5) return undefined;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const r = corr[lag]!;
    if (r >= 0.9 * best && r >= corr[lag - 1]! && r >= corr[lag + 1]!) {
      return sampleRateHz / (lag + parabolicOffset(corr[lag - 1]!, r, corr[lag + 1]!));
    }
  }
  return undefined;
}

function normalizedCorrelation(x: Float64Array, lag: number): number {
  let dot = 0;
  let energyA = 0;
  let energyB = 0;
  for (let i = 0; i + lag < x.length; i++) {
    const a = x[i]!;
    const b = x[i + lag]!;
    dot += a * b;
    energyA += a * a;
    energyB += b * b;
  }
  return energyA > 0 && energyB > 0 ? dot / Math.sqrt(energyA * energyB) : 0;
}

/** Sub-sample position of the peak between three neighbouring values, in -0.5..0.5. */
function parabolicOffset(left: number, centre: number, right: number): number {
  const denominator = left - 2 * centre + right;
  if (denominator === 0) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (left - right)) / denominator));
}
