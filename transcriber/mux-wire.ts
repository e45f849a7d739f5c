/**
 * The multiplexed link between the gateway and a transcriber (`WS /v1/mux`): one WebSocket per container
 * carries every session on it. Each binary WebSocket message is a batch of records, each record
 * `[u8 kind][u32 channel][u32 length][payload]`:
 *
 * - `open` (gateway -> transcriber): a new session on `channel`; payload = its `/v1/listen` query string.
 * - `binary`, `text` (both ways): one WebSocket message of the session (audio, control JSON, results).
 * - `close` (both ways): the session ended; payload = u16 close code + UTF-8 reason. Nothing follows it.
 *
 * A batch holds what one side produced in one event-loop turn (see Batcher): under load the frames of many
 * sessions cross the socket in one write, where a WebSocket per session costs a write and a read each.
 */
export const RECORD = { open: 1, binary: 2, text: 3, close: 4 } as const;
export type RecordKind = (typeof RECORD)[keyof typeof RECORD];

/** kind + channel + length. */
export const RECORD_HEADER_BYTES = 9;

/** A batch is sent early rather than grow past this (one record may still exceed it alone). */
export const MAX_BATCH_BYTES = 1024 * 1024;

/** What the transcriber accepts as one link message: a full batch plus one record of the largest frame. */
export const MAX_LINK_MESSAGE_BYTES = 2 * MAX_BATCH_BYTES;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A close record's payload: the code and a reason cut to the 123 bytes a WebSocket close frame allows. */
export function closePayload(code: number, reason: string): Uint8Array {
  const text = encoder.encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + text.byteLength);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text, 2);
  return payload;
}

export function parseClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.byteLength < 2) return { code: 1005, reason: "" };
  const code = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint16(0);
  return { code, reason: decoder.decode(payload.subarray(2)) };
}

export function textPayload(text: string): Uint8Array {
  return encoder.encode(text);
}

export function payloadText(payload: Uint8Array): string {
  return decoder.decode(payload);
}

/**
 * Collects the records of one event-loop turn and hands them over as one batch. The flush is a setImmediate:
 * it runs after Bun has called the handlers of every socket that was ready in this turn. A turn with more
 * than MAX_BATCH_BYTES goes out in several batches.
 */
export class Batcher {
  private records: Array<{ kind: RecordKind; channel: number; payload: Uint8Array }> = [];
  private size = 0;
  private scheduled = false;
  private scratch = new Uint8Array(16 * 1024);
  private view = new DataView(this.scratch.buffer);

  constructor(private readonly send: (batch: Uint8Array) => void) {}

  /** Bytes waiting for this turn's flush. */
  get pendingBytes(): number {
    return this.size;
  }

  add(kind: RecordKind, channel: number, payload: Uint8Array): void {
    if (this.records.length > 0 && this.size + RECORD_HEADER_BYTES + payload.byteLength > MAX_BATCH_BYTES) this.flush();
    this.records.push({ kind, channel, payload });
    this.size += RECORD_HEADER_BYTES + payload.byteLength;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Sends what is collected now (also called by the scheduled flush). The batch is built in a buffer reused
   * from flush to flush: Bun's WebSocket `send` (client and server) writes it or copies what it cannot write
   * before returning, so nothing keeps a reference, and a busy link makes no garbage per batch.
   */
  flush(): void {
    this.scheduled = false;
    if (this.records.length === 0) return;
    if (this.scratch.byteLength < this.size) {
      this.scratch = new Uint8Array(Math.max(this.size, 2 * this.scratch.byteLength));
      this.view = new DataView(this.scratch.buffer);
    }
    const batch = this.scratch;
    const view = this.view;
    let at = 0;
    for (const { kind, channel, payload } of this.records) {
      batch[at] = kind;
      view.setUint32(at + 1, channel);
      view.setUint32(at + 5, payload.byteLength);
      batch.set(payload, at + RECORD_HEADER_BYTES);
      at += RECORD_HEADER_BYTES + payload.byteLength;
    }
    const size = this.size;
    this.records.length = 0;
    this.size = 0;
    this.send(batch.subarray(0, size));
  }

  /** Drops what was not sent (the link is gone). */
  clear(): void {
    this.records.length = 0;
    this.size = 0;
  }
}

/**
 * Calls `each` for every record of a batch, in order; payloads are views into `batch`. Throws on a truncated
 * record or an unknown kind, naming the offset: the peer is broken and the link should close.
 */
export function readBatch(batch: Uint8Array, each: (kind: RecordKind, channel: number, payload: Uint8Array) => void): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  let at = 0;
  while (at < batch.byteLength) {
    if (batch.byteLength - at < RECORD_HEADER_BYTES) throw new Error(`mux batch: truncated record header at byte ${at}`);
    const kind = batch[at]!;
    if (kind < RECORD.open || kind > RECORD.close) throw new Error(`mux batch: unknown record kind ${kind} at byte ${at}`);
    const channel = view.getUint32(at + 1);
    const length = view.getUint32(at + 5);
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > batch.byteLength)
      throw new Error(`mux batch: record at byte ${at} claims ${length} bytes, ${batch.byteLength - at - RECORD_HEADER_BYTES} left`);
    each(kind as RecordKind, channel, batch.subarray(at + RECORD_HEADER_BYTES, end));
    at = end;
  }
}
