/** A WebSocket test client that records every message and close, with helpers to wait for them. */
import { Notifier } from "./wait.ts";

export interface JsonMessage {
  type: string;
  [key: string]: any;
}

/** The query `listen()` opens a session with unless told otherwise. */
const DEFAULT_LISTEN_QUERY = "encoding=opus&sample_rate=48000&channels=1";

export class TestClient<M extends { type: string } = JsonMessage> {
  readonly json: M[] = [];
  readonly binary: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private readonly changes = new Notifier(() => JSON.stringify(this.json).slice(0, 2000));

  constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("websocket error before open")));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.changes.notify();
      }),
    );
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.json.push(JSON.parse(event.data));
      else this.binary.push(new Uint8Array(event.data as ArrayBuffer));
      this.changes.notify();
    });
  }

  static connect<M extends { type: string } = JsonMessage>(url: string): TestClient<M> {
    return new TestClient<M>(new WebSocket(url));
  }

  /** Opens `WS /v1/listen` on `baseUrl` (`ws://host:port`) with `query`. */
  static listen<M extends { type: string } = JsonMessage>(baseUrl: string, query = DEFAULT_LISTEN_QUERY): TestClient<M> {
    return TestClient.connect<M>(`${baseUrl}/v1/listen?${query}`);
  }

  /** Messages of one type, in arrival order. */
  ofType(type: string): M[] {
    return this.json.filter((m) => m.type === type);
  }

  /** Resolves once `predicate` holds, checking after every message; rejects after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    await this.changes.until(predicate, timeoutMs, what);
  }

  /** Waits for the first message of a type. */
  async next(type: string, timeoutMs = 10_000): Promise<M> {
    await this.until(() => this.ofType(type).length > 0, timeoutMs, `a ${type} message`);
    return this.ofType(type)[0]!;
  }

  /** Resolves with every message `match` accepts once there are at least `count`; rejects after `timeoutMs`. */
  waitFor(match: (m: M) => boolean, count = 1, timeoutMs = 10_000): Promise<M[]> {
    return this.changes.until(
      () => {
        const found = this.json.filter(match);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} matching messages`,
    );
  }

  send(data: string | Uint8Array | object): void {
    this.ws.send(typeof data === "object" && !(data instanceof Uint8Array) ? JSON.stringify(data) : data);
  }

  /**
   * Once open, sends packets `intervalMs` apart, stopping early if the socket closes. By default they are
   * paced like a live stream (packet i goes out at i × intervalMs); with `{ sleepEach: true }` it sleeps
   * `intervalMs` after every packet instead, so delays add up. With 0: as fast as possible, yielding now and then.
   */
  async stream(packets: readonly Uint8Array[], intervalMs = 20, { sleepEach = false } = {}): Promise<void> {
    await this.opened;
    const start = performance.now();
    for (let i = 0; i < packets.length; i++) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(packets[i]!);
      const wait = sleepEach ? intervalMs : start + (i + 1) * intervalMs - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      else if (intervalMs === 0 && i % 25 === 24) await Bun.sleep(1);
    }
  }
}
