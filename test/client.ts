/** A WebSocket test client that records every message and close, with helpers to wait for them. */

export interface JsonMessage {
  type: string;
  [key: string]: any;
}

export class TestClient {
  readonly json: JsonMessage[] = [];
  readonly binary: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("websocket error before open")));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => {
      resolve({ code: e.code, reason: e.reason });
      this.notify();
    }));
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.json.push(JSON.parse(event.data));
      else this.binary.push(new Uint8Array(event.data as ArrayBuffer));
      this.notify();
    });
  }

  static connect(url: string): TestClient {
    return new TestClient(new WebSocket(url));
  }

  /** Messages of one type, in arrival order. */
  ofType(type: string): JsonMessage[] {
    return this.json.filter((m) => m.type === type);
  }

  /** Resolves once `predicate` holds, checking after every message; rejects after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.json).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the first message of a type. */
  async next(type: string, timeoutMs = 10_000): Promise<JsonMessage> {
    await this.until(() => this.ofType(type).length > 0, timeoutMs, `a ${type} message`);
    return this.ofType(type)[0]!;
  }

  send(data: string | Uint8Array | object): void {
    this.ws.send(typeof data === "object" && !(data instanceof Uint8Array) ? JSON.stringify(data) : data);
  }

  /** Sends packets paced like a live stream (one every `intervalMs`). */
  async stream(packets: Uint8Array[], intervalMs = 20): Promise<void> {
    const start = performance.now();
    for (let i = 0; i < packets.length; i++) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(packets[i]!);
      const wait = start + (i + 1) * intervalMs - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
