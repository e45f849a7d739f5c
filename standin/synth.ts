/**
 * Synthetic speech-like audio for tests at any layer: voiced bursts at a known pitch separated by silence,
 * as 16-bit mono PCM at 24 kHz (the Realtime API's input format). The stand-in's transcript of such a burst
 * states its duration and pitch (see transcript.ts), so a test can tell which audio arrived.
 */
import { SAMPLE_RATE_HZ } from "./buffer.ts";

/** One stretch of audio: a voiced burst at `hz`, or silence when `hz` is absent. */
export interface Segment {
  ms: number;
  hz?: number;
}

/**
 * A voice-like burst: fundamental `hz` plus two weaker harmonics, with a slow syllable-rate swell so it is
 * not a flat tone, and 5 ms fades so its edges do not click. `amplitude` is the peak as a fraction of full
 * scale; the default 0.3 is well above the stand-in's VAD threshold and far from clipping.
 */
export function voiced(ms: number, hz: number, amplitude = 0.3, sampleRateHz = SAMPLE_RATE_HZ): Int16Array {
  const n = Math.round((ms * sampleRateHz) / 1000);
  const fade = Math.round(0.005 * sampleRateHz);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRateHz;
    const phase = 2 * Math.PI * hz * t;
    const wave = (Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase)) / 1.75;
    const swell = 0.8 + 0.2 * Math.sin(2 * Math.PI * 4 * t);
    const edge = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = Math.round(wave * swell * edge * amplitude * 32767);
  }
  return out;
}

export function silence(ms: number, sampleRateHz = SAMPLE_RATE_HZ): Int16Array {
  return new Int16Array(Math.round((ms * sampleRateHz) / 1000));
}

/** Segments one after another, as one PCM signal. */
export function sequence(segments: Segment[], sampleRateHz = SAMPLE_RATE_HZ): Int16Array {
  const parts = segments.map((s) => (s.hz ? voiced(s.ms, s.hz, undefined, sampleRateHz) : silence(s.ms, sampleRateHz)));
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Little-endian bytes of `samples` (the wire format), cut into chunks of `chunkMs` like a live stream. */
export function pcmChunks(samples: Int16Array, chunkMs = 20, sampleRateHz = SAMPLE_RATE_HZ): Uint8Array[] {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((s, i) => view.setInt16(i * 2, s, true));
  const chunkBytes = Math.round((chunkMs * sampleRateHz) / 1000) * 2;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) chunks.push(bytes.subarray(at, at + chunkBytes));
  return chunks;
}
