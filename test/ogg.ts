/** Test helper: an Ogg Opus file (RFC 7845) around raw Opus packets, as opusenc or ffmpeg would write one. */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function crc(bytes: Uint8Array): number {
  let c = 0;
  for (const b of bytes) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ b) & 0xff]!) >>> 0;
  return c;
}

function page(packets: Uint8Array[], flags: number, granule: bigint, sequence: number): Uint8Array {
  const lacing: number[] = [];
  for (const p of packets) {
    for (let left = p.length; ; left -= 255) {
      lacing.push(Math.min(left, 255));
      if (left < 255) break;
    }
  }
  const bodyBytes = packets.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(27 + lacing.length + bodyBytes);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53]); // OggS
  out[5] = flags;
  view.setBigUint64(6, granule, true);
  view.setUint32(14, 0x7e57, true); // serial
  view.setUint32(18, sequence, true);
  out[26] = lacing.length;
  out.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of packets) {
    out.set(p, at);
    at += p.length;
  }
  view.setUint32(22, crc(out), true);
  return out;
}

/** An Ogg Opus file of mono 20 ms `packets`, `packetsPerPage` to a page. */
export function oggOpusFile(packets: Uint8Array[], packetsPerPage = 50): Uint8Array {
  const head = new Uint8Array(19);
  head.set(new TextEncoder().encode("OpusHead"));
  const hv = new DataView(head.buffer);
  head[8] = 1; // version
  head[9] = 1; // channels
  hv.setUint16(10, 312, true); // pre-skip
  hv.setUint32(12, 48_000, true); // input sample rate
  const vendor = new TextEncoder().encode("transcribe-edge test");
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  tags.set(new TextEncoder().encode("OpusTags"));
  new DataView(tags.buffer).setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  const pages = [page([head], 0x02, 0n, 0), page([tags], 0, 0n, 1)];
  for (let i = 0; i < packets.length; i += packetsPerPage) {
    const last = i + packetsPerPage >= packets.length;
    const chunk = packets.slice(i, i + packetsPerPage);
    const granule = BigInt((i + chunk.length) * 960 + 312);
    pages.push(page(chunk, last ? 0x04 : 0, granule, pages.length));
  }
  const out = new Uint8Array(pages.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of pages) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
