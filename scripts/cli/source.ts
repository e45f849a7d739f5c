/** The CLI's audio input: a WAV or Ogg Opus file, or either on stdin, as a stream of raw Opus packets. */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { ByteReader, fourCC } from "./bytes.ts";
import { opusPackets } from "./encode.ts";
import { oggDurationMs, oggOpusPackets } from "./ogg.ts";
import { readWavHeader, wavMonoBlocks } from "./wav.ts";

export interface AudioSource {
  /** e.g. "WAV 16000 Hz stereo" or "Ogg Opus". */
  description: string;
  /** Known for files; undefined for stdin streams whose header has no size. */
  totalMs: number | undefined;
  packets: AsyncIterable<Uint8Array>;
  close(): void;
}

/** The last bytes of a file: where an Ogg file's final granule position is. */
function tail(path: string, bytes = 65_536): Uint8Array {
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  try {
    const out = new Uint8Array(Math.min(bytes, size));
    readSync(fd, out, 0, out.length, size - out.length);
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens `input` (a path, or `-` for stdin) and sniffs its format from the first bytes. Throws a one-line
 * reason (the caller names the input) for missing files and formats it cannot stream.
 */
export async function openAudio(input: string): Promise<AudioSource> {
  const fromStdin = input === "-";
  if (fromStdin && process.stdin.isTTY) throw new Error("stdin is a terminal: pipe a WAV or Ogg Opus stream into it");
  if (!fromStdin) {
    const stat = statSync(input, { throwIfNoEntry: false });
    if (!stat) throw new Error("no such file");
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size === 0) throw new Error("empty file");
  }
  const stream = fromStdin ? Bun.stdin.stream() : Bun.file(input).stream();
  const reader = new ByteReader(stream);
  const magic = fourCC(await reader.peek(4));
  if (magic === "RIFF") {
    const format = await readWavHeader(reader);
    return {
      description: `WAV ${format.sampleRate} Hz ${format.channels === 1 ? "mono" : "stereo"}`,
      totalMs: format.durationMs,
      packets: await primed(opusPackets(wavMonoBlocks(reader, format), format.sampleRate)),
      close: () => reader.cancel(),
    };
  }
  if (magic === "OggS") {
    return {
      description: "Ogg Opus",
      totalMs: fromStdin ? undefined : oggDurationMs(tail(input)),
      packets: await primed(oggOpusPackets(reader)),
      close: () => reader.cancel(),
    };
  }
  reader.cancel();
  throw new Error("not a WAV (RIFF) or Ogg Opus (OggS) stream");
}

/**
 * Pulls the first packet now, so a stream that is not what its first bytes promised (Ogg without OpusHead, a
 * WAV without samples) fails before a session is opened, then yields it followed by the rest.
 */
async function primed(packets: AsyncGenerator<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  const first = await packets.next();
  if (first.done) throw new Error("no audio in it");
  return (async function* () {
    yield first.value;
    yield* packets;
  })();
}
