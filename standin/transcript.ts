/**
 * What the stand-in "hears": a transcript that describes the audio of an item, so a test at any layer
 * (transcriber, gateway, benchmark) can check that the right audio arrived, in the right pieces.
 *
 * Exact format (lower case, single spaces, no punctuation):
 * - `"<ms> ms of speech at <hz> hz"` when the item held loud audio with a detectable pitch;
 *   `ms` is the voiced span (first loud 10 ms window's start to the last one's end, i.e. for a server-VAD
 *   turn: onset to `audio_end_ms`, without prefix padding or trailing silence), rounded to 10 ms;
 *   `hz` is the autocorrelation pitch of the loud windows, rounded to the nearest 10 Hz.
 * - `"<ms> ms of noise"` when it held loud audio without a pitch (same `ms`).
 * - `"<ms> ms of silence"` when nothing was loud; `ms` is then the item's whole duration (a client commit
 *   of a quiet buffer), rounded to 10 ms.
 *
 * Parse it with {@link parseTranscript} rather than a regex of your own.
 */
import type { CommittedItem } from "./buffer.ts";

export interface HeardAudio {
  kind: "speech" | "noise" | "silence";
  ms: number;
  /** Only for `speech`. */
  hz?: number;
}

const roundTo10 = (n: number) => Math.round(n / 10) * 10;

/** The transcript the stand-in produces for an item. */
export function transcriptOf(item: CommittedItem): string {
  if (item.voicedMs === 0) return `${roundTo10(item.endMs - item.startMs)} ms of silence`;
  if (item.pitchHz === undefined) return `${roundTo10(item.voicedMs)} ms of noise`;
  return `${roundTo10(item.voicedMs)} ms of speech at ${roundTo10(item.pitchHz)} hz`;
}

/** Reads a stand-in transcript back; undefined when `text` is not one. */
export function parseTranscript(text: string): HeardAudio | undefined {
  const m = /^(\d+) ms of (speech|noise|silence)(?: at (\d+) hz)?$/.exec(text.trim());
  if (!m) return undefined;
  const kind = m[2] as HeardAudio["kind"];
  if ((kind === "speech") !== (m[3] !== undefined)) return undefined;
  return kind === "speech" ? { kind, ms: Number(m[1]), hz: Number(m[3]) } : { kind, ms: Number(m[1]) };
}

/** The transcript cut into word deltas (`"1000"`, `" ms"`, ...) that concatenate back to it. */
export function deltasOf(transcript: string): string[] {
  return transcript.split(/(?= )/);
}
