/**
 * Test helper: a `WS /v1/listen` client that records every message and the close, so tests can stream
 * audio and then inspect what came back.
 */
import type { ClientMessage } from "./protocol.ts";

export interface ListenClient {
  socket: WebSocket;
  /** JSON messages received, in order. */
  messages: ClientMessage[];
  /** Binary messages received, in order. */
  binary: Uint8Array[];
  opened: Promise<void>;
  /** Resolves with the close code (and reason). */
  closed: Promise<{ code: number; reason: string }>;
  /** Sends packets paced `gapMs` apart (0: as fast as possible, yielding now and then). */
  stream(packets: readonly Uint8Array[], gapMs?: number): Promise<void>;
  control(type: "KeepAlive" | "Finalize" | "CloseStream"): void;
  /** Resolves once `count` messages match, or rejects after `timeoutMs`. */
  waitFor(match: (m: ClientMessage) => boolean, count?: number, timeoutMs?: number): Promise<ClientMessage[]>;
}

/** Opens a listen session on `baseUrl` (`ws://host:port`) with `query`. */
export function listen(baseUrl: string, query = "encoding=opus&sample_rate=48000&channels=1"): ListenClient {
  const socket = new WebSocket(`${baseUrl}/v1/listen?${query}`);
  socket.binaryType = "arraybuffer";
  const messages: ClientMessage[] = [];
  const binary: Uint8Array[] = [];
  const waiters = new Set<() => void>();
  socket.addEventListener("message", (event) => {
    if (typeof event.data === "string") messages.push(JSON.parse(event.data) as ClientMessage);
    else binary.push(new Uint8Array(event.data as ArrayBuffer));
    for (const wake of waiters) wake();
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error("listen socket failed to open")));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (event) => {
      resolve({ code: event.code, reason: event.reason });
      for (const wake of waiters) wake();
    });
  });
  return {
    socket,
    messages,
    binary,
    opened,
    closed,
    async stream(packets, gapMs = 0) {
      await opened;
      for (let i = 0; i < packets.length; i++) {
        socket.send(packets[i]!);
        if (gapMs > 0) await Bun.sleep(gapMs);
        else if (i % 25 === 24) await Bun.sleep(1);
      }
    },
    control(type) {
      socket.send(JSON.stringify({ type }));
    },
    waitFor(match, count = 1, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.filter(match);
          if (found.length < count) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${count} messages; got ${JSON.stringify(messages).slice(0, 2000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
