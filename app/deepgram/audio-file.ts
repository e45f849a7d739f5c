/**
 * A pre-recorded request body as the frames a live session would send: a WAV file (16-bit PCM) becomes
 * linear16 blocks at its own rate and channel count, an Ogg Opus file its Opus packets, and a raw body with
 * `encoding=linear16` (and `sample_rate`, `channels`) blocks of itself. The WAV and Ogg readers are the CLI's.
 */
import { ByteReader, fourCC } from "../../scripts/cli/bytes.ts";
import { oggOpusPackets } from "../../scripts/cli/ogg.ts";
import { readWavHeader } from "../../scripts/cli/wav.ts";

/** The live session a file is sent as. */
export interface AudioFrames {
  encoding: "opus" | "linear16";
  sampleRateHz: number;
  channels: number;
  frames: Uint8Array[];
  /** Seconds of audio in the file. */
  durationS: number;
}

/** A body that is not audio the gateway can read; the message is the one line for the 400. */
export class AudioFileError extends Error {
  override name = "AudioFileError";
}

/** linear16 frames of 100 ms at 48 kHz mono or less: well under the transcriber's 64 KiB frame cap. */
const LINEAR16_BLOCK_BYTES = 9600;
/** Ogg Opus packets are 20 ms here (what encoders write for speech); the duration is counted from them. */
const OPUS_PACKET_MS = 20;

/**
 * Reads `body`. `declared` are the query's encoding, sample_rate and channels: needed for a raw body,
 * ignored for a file whose header says them.
 * @throws AudioFileError naming what is wrong.
 */
export async function audioFrames(
  body: Uint8Array<ArrayBuffer>,
  declared: { encoding?: string; sampleRateHz?: number; channels?: number },
): Promise<AudioFrames> {
  if (body.length === 0) throw new AudioFileError("the request body is empty: send the audio file as the body");
  const magic = fourCC(body);
  try {
    if (magic === "RIFF") return await wav(body);
    if (magic === "OggS") return await oggOpus(body);
  } catch (error) {
    if (error instanceof AudioFileError) throw error;
    throw new AudioFileError(`cannot read the audio file: ${(error as Error).message}`);
  }
  if (declared.encoding === "linear16") {
    const sampleRateHz = declared.sampleRateHz ?? 16_000;
    const channels = declared.channels ?? 1;
    return { encoding: "linear16", sampleRateHz, channels, frames: blocks(body), durationS: body.length / (2 * channels * sampleRateHz) };
  }
  throw new AudioFileError(
    "unrecognised audio: expected a WAV (16-bit PCM) or Ogg Opus file, or raw audio with encoding=linear16&sample_rate=N",
  );
}

async function wav(body: Uint8Array<ArrayBuffer>): Promise<AudioFrames> {
  const reader = new ByteReader(new Blob([body]).stream());
  const format = await readWavHeader(reader);
  const samples = await reader.read(body.length);
  const bytesPerS = format.sampleRate * format.channels * 2;
  return {
    encoding: "linear16",
    sampleRateHz: format.sampleRate,
    channels: format.channels,
    frames: blocks(samples),
    durationS: samples.length / bytesPerS,
  };
}

async function oggOpus(body: Uint8Array<ArrayBuffer>): Promise<AudioFrames> {
  const frames: Uint8Array[] = [];
  for await (const packet of oggOpusPackets(new ByteReader(new Blob([body]).stream()))) frames.push(packet);
  return { encoding: "opus", sampleRateHz: 48_000, channels: 1, frames, durationS: (frames.length * OPUS_PACKET_MS) / 1000 };
}

function blocks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += LINEAR16_BLOCK_BYTES) out.push(bytes.subarray(at, at + LINEAR16_BLOCK_BYTES));
  return out;
}
