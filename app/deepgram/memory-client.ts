/**
 * The client side of a pre-recorded session: a stand-in for the WebSocket a live client would hold, which
 * records the session's JSON messages and its close, and lets the sender wait while the relay asks to pause.
 */
import type { ClientSocket } from "../session/relay.ts";

export class MemoryClient implements ClientSocket {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private resolveClosed!: (close: { code: number; reason: string }) => void;
  private paused = false;
  /** True once the session closed this socket. */
  isClosed = false;
  private resumed: Array<() => void> = [];

  constructor() {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  send(data: string | Uint8Array): number {
    if (typeof data === "string") this.messages.push(JSON.parse(data));
    return typeof data === "string" ? data.length : data.byteLength;
  }

  close(code = 1000, reason = ""): void {
    this.isClosed = true;
    this.resolveClosed({ code, reason });
    this.resume();
  }

  getBufferedAmount(): number {
    return 0;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const resolve of this.resumed.splice(0)) resolve();
  }

  /** Resolves at once, or when the relay resumes reading (the transcriber drained). */
  whenReading(): Promise<void> {
    return this.paused ? new Promise((resolve) => this.resumed.push(resolve)) : Promise.resolve();
  }
}
