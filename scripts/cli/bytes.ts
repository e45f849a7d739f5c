/** Reads exact byte counts from a stream (a file or stdin), so the WAV and Ogg parsers work on both alike. */

export class ByteReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  /** Resolves with the next `n` bytes (fewer at the end of the stream) without consuming them. */
  async peek(n: number): Promise<Uint8Array> {
    while (this.buffer.length < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else if (value.length > 0) this.buffer = concat(this.buffer, value);
    }
    return this.buffer.subarray(0, Math.min(n, this.buffer.length));
  }

  /** Resolves with exactly `n` bytes, or fewer at the end of the stream (an empty array once it is over). */
  async read(n: number): Promise<Uint8Array> {
    await this.peek(n);
    const out = this.buffer.subarray(0, Math.min(n, this.buffer.length));
    this.buffer = this.buffer.subarray(out.length);
    return out;
  }

  /** Like {@link read}, but an early end of the stream is an error naming `what` was being read. */
  async readExactly(n: number, what: string): Promise<Uint8Array> {
    const bytes = await this.read(n);
    if (bytes.length < n) throw new Error(`truncated: the data ends inside the ${what}`);
    return bytes;
  }

  /** Discards `n` bytes. */
  async skip(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      const got = await this.read(Math.min(left, 1 << 16));
      if (got.length === 0) return;
      left -= got.length;
    }
  }

  cancel(): void {
    void this.reader.cancel().catch(() => {});
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reads four bytes as ASCII (RIFF chunk ids, Ogg capture patterns). */
export function fourCC(bytes: Uint8Array, at = 0): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}
