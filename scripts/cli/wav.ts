/** WAV input for the CLI: 16-bit PCM (mono or stereo, any rate), read incrementally so stdin works too. */
import { type ByteReader, fourCC } from "./bytes.ts";

/** What the header says. `durationMs` is undefined for streams whose header carries no real size. */
export interface WavFormat {
  sampleRate: number;
  channels: number;
  durationMs: number | undefined;
}

const PCM = 1;
const EXTENSIBLE = 0xfffe;
/** Streaming writers (arecord, ffmpeg to a pipe) put 0 or 0xFFFFFFFF where the size goes. */
const UNKNOWN_SIZES = new Set([0, 0xffffffff, 0x7fffffff]);

/**
 * Reads the header up to the start of the samples and returns the format, with the reader left at the
 * first sample. Throws a one-line reason for anything that is not 16-bit PCM WAV.
 */
export async function readWavHeader(reader: ByteReader): Promise<WavFormat> {
  const riff = await reader.readExactly(12, "WAV header");
  if (fourCC(riff) !== "RIFF" || fourCC(riff, 8) !== "WAVE") throw new Error("not a WAV file (no RIFF/WAVE header)");
  let format: Omit<WavFormat, "durationMs"> | undefined;
  for (;;) {
    const header = await reader.readExactly(8, "WAV chunk list (no data chunk)");
    const id = fourCC(header);
    const size = new DataView(header.buffer, header.byteOffset, 8).getUint32(4, true);
    if (id === "data") {
      if (!format) throw new Error("WAV data chunk comes before its fmt chunk");
      const bytesPerSecond = format.sampleRate * format.channels * 2;
      return { ...format, durationMs: UNKNOWN_SIZES.has(size) ? undefined : (size / bytesPerSecond) * 1000 };
    }
    if (id !== "fmt ") {
      await reader.skip(size + (size % 2)); // chunks are padded to an even size
      continue;
    }
    const fmt = await reader.readExactly(size, "WAV fmt chunk");
    const view = new DataView(fmt.buffer, fmt.byteOffset, fmt.length);
    const tag = view.getUint16(0, true);
    const channels = view.getUint16(2, true);
    const sampleRate = view.getUint32(4, true);
    const bits = view.getUint16(14, true);
    // WAVE_FORMAT_EXTENSIBLE carries the real format in the first two bytes of its sub-format GUID.
    const real = tag === EXTENSIBLE && size >= 26 ? view.getUint16(24, true) : tag;
    if (real !== PCM || bits !== 16) throw new Error(`unsupported WAV encoding (format ${real}, ${bits}-bit): expected 16-bit PCM`);
    if (channels < 1 || channels > 2) throw new Error(`unsupported WAV channel count ${channels}: expected mono or stereo`);
    if (sampleRate < 8000 || sampleRate > 192_000) throw new Error(`unsupported WAV sample rate ${sampleRate}`);
    if (size % 2) await reader.skip(1);
    format = { sampleRate, channels };
  }
}

/** Yields the samples as mono float blocks of about `blockMs`, averaging stereo channels. */
export async function* wavMonoBlocks(reader: ByteReader, format: WavFormat, blockMs = 20): AsyncGenerator<Float32Array> {
  const frameBytes = format.channels * 2;
  const blockBytes = Math.max(1, Math.round((format.sampleRate * blockMs) / 1000)) * frameBytes;
  for (;;) {
    const bytes = await reader.read(blockBytes);
    const frames = Math.floor(bytes.length / frameBytes);
    if (frames === 0) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, frames * frameBytes);
    const block = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < format.channels; c++) sum += view.getInt16((i * format.channels + c) * 2, true);
      block[i] = sum / format.channels / 32768;
    }
    yield block;
  }
}
