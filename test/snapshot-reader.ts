/** Test helper: the status page's event stream (`GET /status/events`) read as a list of snapshots. */
import type { StatusSnapshot } from "../app/status/hub.ts";

/** Reads `event: snapshot` frames from an SSE response as they arrive. */
export class SnapshotReader {
  readonly snapshots: StatusSnapshot[] = [];
  private buffer = "";
  private readonly done: Promise<void>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly response: Response) {
    const reader = (this.reader = response.body!.getReader());
    const decoder = new TextDecoder();
    this.done = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) >= 0) {
          const frame = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const data = frame.split("\n").find((line) => line.startsWith("data: "));
          if (frame.includes("event: snapshot") && data) this.snapshots.push(JSON.parse(data.slice(6)));
        }
      }
    })().catch(() => undefined);
  }

  async until(predicate: (s: StatusSnapshot) => boolean, timeoutMs = 10_000): Promise<StatusSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.snapshots.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching snapshot in ${timeoutMs} ms (got ${this.snapshots.length})`);
      await Bun.sleep(10);
    }
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
    await this.done;
  }
}
