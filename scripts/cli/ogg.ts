/**
 * Ogg Opus input for the CLI: the raw Opus packets of the first logical stream, taken out of the Ogg pages
 * (RFC 3533 framing, RFC 7845 mapping), read incrementally so stdin works too.
 */
import { type ByteReader, fourCC } from "./bytes.ts";

const PAGE_HEADER_BYTES = 27;

interface Page {
  serial: number;
  granule: bigint;
  segments: Uint8Array;
  body: Uint8Array;
}

async function readPage(reader: ByteReader): Promise<Page | undefined> {
  const header = await reader.read(PAGE_HEADER_BYTES);
  if (header.length === 0) return undefined;
  if (header.length < PAGE_HEADER_BYTES) throw new Error("truncated: the data ends inside an Ogg page header");
  if (fourCC(header) !== "OggS" || header[4] !== 0) throw new Error("not an Ogg stream (no OggS page at the expected place)");
  const view = new DataView(header.buffer, header.byteOffset, PAGE_HEADER_BYTES);
  const segments = await reader.readExactly(header[26]!, "Ogg segment table");
  const bodyBytes = segments.reduce((sum, n) => sum + n, 0);
  return {
    granule: view.getBigUint64(6, true),
    serial: view.getUint32(14, true),
    segments,
    body: await reader.readExactly(bodyBytes, "Ogg page"),
  };
}

/** Yields every packet of the first logical stream; a packet may span pages (a 255 lacing value continues it). */
async function* oggPackets(reader: ByteReader): AsyncGenerator<Uint8Array> {
  let serial: number | undefined;
  let partial: Uint8Array[] = [];
  for (let page = await readPage(reader); page; page = await readPage(reader)) {
    serial ??= page.serial;
    if (page.serial !== serial) continue; // other multiplexed streams (video, a second track)
    let at = 0;
    for (const lacing of page.segments) {
      partial.push(page.body.subarray(at, at + lacing));
      at += lacing;
      if (lacing < 255) {
        const size = partial.reduce((sum, p) => sum + p.length, 0);
        const packet = new Uint8Array(size);
        let offset = 0;
        for (const p of partial) {
          packet.set(p, offset);
          offset += p.length;
        }
        partial = [];
        yield packet;
      }
    }
  }
}

/**
 * Checks the OpusHead and OpusTags headers, then yields the audio packets. Throws a one-line reason when the
 * stream is Ogg but not Opus.
 */
export async function* oggOpusPackets(reader: ByteReader): AsyncGenerator<Uint8Array> {
  const packets = oggPackets(reader);
  const head = await packets.next();
  if (head.done || new TextDecoder().decode(head.value.subarray(0, 8)) !== "OpusHead") {
    throw new Error("an Ogg stream, but not Opus (no OpusHead)");
  }
  const tags = await packets.next();
  if (tags.done) return;
  if (new TextDecoder().decode(tags.value.subarray(0, 8)) !== "OpusTags") throw new Error("Ogg Opus stream without OpusTags");
  for await (const packet of packets) if (packet.length > 0) yield packet;
}

/** Duration in ms of an Ogg Opus file from the granule position of its last page (48 kHz units). */
export function oggDurationMs(tail: Uint8Array): number | undefined {
  for (let at = tail.length - PAGE_HEADER_BYTES; at >= 0; at--) {
    if (tail[at] !== 0x4f || fourCC(tail, at) !== "OggS") continue;
    const granule = new DataView(tail.buffer, tail.byteOffset + at, PAGE_HEADER_BYTES).getBigInt64(6, true);
    return granule > 0n ? Number(granule) / 48 : undefined;
  }
  return undefined;
}
