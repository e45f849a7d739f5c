/**
 * A session against echo transcribers that proves no frame was lost: it streams numbered binary frames (a
 * 4-byte big-endian counter) at a steady pace and checks every echo comes back once, in order. Cluster fault
 * tests hold several of these open across a fault and look at what each saw.
 */
import { TestClient } from "../client.ts";

/** What one session saw by the time it closed. */
export interface EchoOutcome {
  code: number;
  /** Frames sent after its Metadata. */
  sent: number;
  /** Frames echoed back, counted only when they came back in order. */
  echoed: number;
  /** The first echo out of order, if any (a frame lost or duplicated in between). */
  outOfOrder?: { expected: number; got: number };
}

export class EchoSession {
  readonly client: TestClient;
  private sent = 0;
  private echoed = 0;
  private outOfOrder: EchoOutcome["outOfOrder"];
  private pacing: Promise<void> | undefined;
  private pacingStopped = false;

  /** Connects to `listenUrl` (a gateway's or HAProxy's) as `sessionId`; frames start once `start()` is called. */
  constructor(
    listenUrl: string,
    readonly sessionId: string,
  ) {
    this.client = TestClient.connect(`${listenUrl}?sessionId=${sessionId}`);
    this.client.ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") return;
      const got = new DataView(event.data as ArrayBuffer).getUint32(0);
      if (got === this.echoed) this.echoed++;
      else this.outOfOrder ??= { expected: this.echoed, got };
    });
  }

  /** The gateway's opening Metadata (container, start, gateway, ...); rejects at once if the socket closes first (a refused upgrade). */
  metadata(timeoutMs = 30_000) {
    const closedFirst = this.client.closed.then(({ code, reason }) => {
      throw new Error(`${this.sessionId}: the socket closed (${code} ${reason}) before its Metadata`);
    });
    return Promise.race([this.client.next("Metadata", timeoutMs), closedFirst]);
  }

  /** Waits for Metadata, then sends one numbered frame every `everyMs` until `finish()` or the socket closes. */
  async start(everyMs = 40): Promise<void> {
    await this.metadata();
    this.pacing = (async () => {
      while (!this.pacingStopped && this.client.ws.readyState === WebSocket.OPEN) {
        const frame = new Uint8Array(64);
        new DataView(frame.buffer).setUint32(0, this.sent);
        this.client.ws.send(frame);
        this.sent++;
        await Bun.sleep(everyMs);
      }
    })();
  }

  /** Frames sent and echoed so far. */
  progress(): { sent: number; echoed: number } {
    return { sent: this.sent, echoed: this.echoed };
  }

  /** Resolves once `count` more echoes arrived than when it was called (the session is flowing). */
  async flowing(count = 5, timeoutMs = 5000): Promise<void> {
    const target = this.echoed + count;
    await this.client.until(() => this.echoed >= target, timeoutMs, `${count} more echoes for ${this.sessionId}`);
  }

  /** Stops sending, sends CloseStream when still open, and resolves with the outcome once it closed. */
  async finish(timeoutMs = 15_000): Promise<EchoOutcome> {
    this.pacingStopped = true;
    await this.pacing;
    if (this.client.ws.readyState === WebSocket.OPEN) this.client.send({ type: "CloseStream" });
    const closed = await Promise.race([this.client.closed, Bun.sleep(timeoutMs).then(() => ({ code: -1, reason: "no close" }))]);
    return { code: closed.code, sent: this.sent, echoed: this.echoed, ...(this.outOfOrder ? { outOfOrder: this.outOfOrder } : {}) };
  }

  /** Resolves with the outcome once the server closed the socket (a fault ended it), without sending CloseStream. */
  async closedByServer(timeoutMs = 15_000): Promise<EchoOutcome> {
    const closed = await Promise.race([this.client.closed, Bun.sleep(timeoutMs).then(() => ({ code: -1, reason: "still open" }))]);
    this.pacingStopped = true;
    await this.pacing;
    return { code: closed.code, sent: this.sent, echoed: this.echoed, ...(this.outOfOrder ? { outOfOrder: this.outOfOrder } : {}) };
  }
}
