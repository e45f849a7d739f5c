/**
 * Test audio for the local recognizer: the LibriVox read-speech clips (16 kHz mono WAV) and their reference
 * transcripts from Debian's pocketsphinx-testdata, as 20 ms Opus packets a client would send.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeOpusPackets, SAMPLE_RATE_48K } from "./audio.ts";
import { resampleForTest } from "./wav.ts";

/** Where the Debian package puts the clips. */
export const LIBRIVOX_DIR = "/usr/share/pocketsphinx/test/data/librivox";

/** One clip: its id, 16 kHz samples, and the reference words. */
export interface LibrivoxClip {
  id: string;
  pcm16k: Int16Array;
  reference: string;
}

/** Why the clips cannot be used here, or undefined when they can. */
export function librivoxMissing(): string | undefined {
  if (existsSync(join(LIBRIVOX_DIR, "transcription"))) return undefined;
  return `LibriVox test clips missing at ${LIBRIVOX_DIR} (bash scripts/recognizer-setup.sh installs pocketsphinx-testdata)`;
}

/** The clips in the order of the package's `transcription` file. */
export function librivoxClips(): LibrivoxClip[] {
  const lines = readFileSync(join(LIBRIVOX_DIR, "transcription"), "utf8")
    .split("\n")
    .filter((line) => line.trim());
  return lines.map((line) => {
    // "<s> words ... </s> (id)"
    const match = /^(.*)\(([^)]+)\)\s*$/.exec(line);
    if (!match) throw new Error(`unexpected line in ${LIBRIVOX_DIR}/transcription: ${line}`);
    const id = match[2]!;
    const reference = match[1]!
      .replace(/<\/?s>/g, " ")
      .trim()
      .replace(/\s+/g, " ");
    return { id, pcm16k: wavSamples(readFileSync(join(LIBRIVOX_DIR, `${id}.wav`))), reference };
  });
}

/** The samples of a canonical 16-bit mono WAV (its `data` chunk). */
function wavSamples(bytes: Buffer): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = view.getUint32(at + 4, true);
    if (id === "data") return new Int16Array(bytes.buffer.slice(bytes.byteOffset + at + 8, bytes.byteOffset + at + 8 + size));
    at += 8 + size + (size % 2);
  }
  throw new Error("WAV without a data chunk");
}

/** A clip at 48 kHz (what browsers and meeting clients capture), optionally with silence after it. */
export function clipPcm48k(clip: LibrivoxClip, trailingSilenceMs = 0): Int16Array {
  const speech = resampleForTest(clip.pcm16k, 16_000, SAMPLE_RATE_48K);
  const out = new Int16Array(speech.length + (trailingSilenceMs * SAMPLE_RATE_48K) / 1000);
  out.set(speech);
  return out;
}

/** A clip as 20 ms Opus packets (real libopus), with `trailingSilenceMs` of silence after the speech. */
export function clipOpusPackets(clip: LibrivoxClip, trailingSilenceMs = 0): Promise<Uint8Array[]> {
  return encodeOpusPackets(clipPcm48k(clip, trailingSilenceMs));
}
