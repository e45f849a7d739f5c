import { describe, expect, test } from "bun:test";
import { Batcher, closePayload, MAX_BATCH_BYTES, parseClose, payloadText, readBatch, RECORD, textPayload } from "./mux-wire.ts";

function records(batch: Uint8Array) {
  const out: Array<[number, number, Uint8Array]> = [];
  readBatch(batch, (kind, channel, payload) => out.push([kind, channel, payload.slice()]));
  return out;
}

describe("mux wire format", () => {
  test("the records of one event-loop turn leave as one batch, in order, and read back as they went in", async () => {
    const batches: Uint8Array[] = [];
    const batcher = new Batcher((batch) => batches.push(batch.slice())); // send() must not keep the batch
    batcher.add(RECORD.open, 7, textPayload("encoding=opus&session_id=a"));
    batcher.add(RECORD.binary, 7, new Uint8Array([1, 2, 3]));
    batcher.add(RECORD.text, 4_000_000_000, textPayload('{"type":"KeepAlive"}'));
    batcher.add(RECORD.close, 7, closePayload(1000, "done"));
    expect(batcher.pendingBytes).toBe(4 * 9 + 26 + 3 + 20 + 6);
    expect(batches).toHaveLength(0); // not before the turn ends
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(1);
    const read = records(batches[0]!);
    expect(read.map(([kind, channel]) => [kind, channel])).toEqual([
      [1, 7],
      [2, 7],
      [3, 4_000_000_000],
      [4, 7],
    ]);
    expect(payloadText(read[0]![2])).toBe("encoding=opus&session_id=a");
    expect(read[1]![2]).toEqual(new Uint8Array([1, 2, 3]));
    expect(parseClose(read[3]![2])).toEqual({ code: 1000, reason: "done" });
    batcher.add(RECORD.binary, 1, new Uint8Array(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(2);
    expect(records(batches[1]!)).toEqual([[2, 1, new Uint8Array(0)]]);
  });

  test("a turn with more than MAX_BATCH_BYTES leaves in several batches, none over it, nothing lost", async () => {
    const batches: Uint8Array[] = [];
    const batcher = new Batcher((batch) => batches.push(batch.slice())); // send() must not keep the batch
    const frame = new Uint8Array(60_000);
    const count = Math.ceil((3 * MAX_BATCH_BYTES) / frame.byteLength);
    for (let i = 0; i < count; i++) batcher.add(RECORD.binary, i, frame);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches.length).toBe(4);
    expect(batches.every((batch) => batch.byteLength <= MAX_BATCH_BYTES)).toBe(true);
    expect(batches.flatMap((batch) => records(batch).map(([, channel]) => channel))).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  test("a close reason is cut to what a WebSocket close frame carries", () => {
    expect(parseClose(closePayload(1011, "x".repeat(500))).reason).toHaveLength(123);
    expect(parseClose(new Uint8Array(0))).toEqual({ code: 1005, reason: "" });
  });

  test("a truncated or unknown record throws naming the byte offset", () => {
    const good = new Uint8Array([2, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9]);
    expect(records(good)).toEqual([[2, 1, new Uint8Array([9, 9])]]);
    expect(() => records(good.subarray(0, 10))).toThrow("record at byte 0 claims 2 bytes, 1 left");
    expect(() => records(new Uint8Array([...good, 2, 0]))).toThrow("truncated record header at byte 11");
    expect(() => records(new Uint8Array([9, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow("unknown record kind 9 at byte 0");
  });
});
