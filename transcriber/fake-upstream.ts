/**
 * An in-memory upstream for tests: records what a session sends and lets the test play the server's part
 * (open, events, drops, backpressure) without sockets or TLS.
 */
import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { type Upstream, type UpstreamEvent, type UpstreamFactory, type UpstreamHandlers, UpstreamRefusal } from "./realtime.ts";

/** One fake connection. */
export class FakeConnection implements Upstream {
  readonly sent: RealtimeClientEvent[] = [];
  buffered = 0;
  closed = false;
  #handlers: UpstreamHandlers;

  constructor(handlers: UpstreamHandlers) {
    this.#handlers = handlers;
  }

  open(): void {
    this.#handlers.onOpen();
  }

  /** Plays one server event. */
  emit(event: UpstreamEvent): void {
    this.#handlers.onEvent(event);
  }

  /** Ends the connection as the upstream refusing its handshake with HTTP `status` would. */
  refuse(status: number): void {
    if (this.closed) return;
    this.closed = true;
    this.#handlers.onClose(`upstream refused the connection: HTTP ${status}`, new UpstreamRefusal(status));
  }

  /** Ends the connection as if the network dropped it. */
  drop(reason = "dropped"): void {
    if (this.closed) return;
    this.closed = true;
    this.#handlers.onClose(reason);
  }

  send(event: RealtimeClientEvent): void {
    if (this.closed) throw new Error("send after close");
    this.sent.push(event);
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  close(): void {
    this.drop("closed by client");
  }

  /** Milliseconds of 24 kHz audio appended. */
  audioMs(): number {
    let bytes = 0;
    for (const event of this.sent) {
      if (event.type === "input_audio_buffer.append") bytes += Buffer.from(event.audio, "base64").length;
    }
    return bytes / 48;
  }

  /** The appended audio as one buffer. */
  audio(): Int16Array {
    const parts = this.sent.flatMap((e) => (e.type === "input_audio_buffer.append" ? [Buffer.from(e.audio, "base64")] : []));
    const joined = Buffer.concat(parts);
    return new Int16Array(joined.buffer, joined.byteOffset, joined.length / 2);
  }

  commits(): number {
    return this.sent.filter((e) => e.type === "input_audio_buffer.commit").length;
  }
}

/** A factory of fake connections that remembers them in order. */
export class FakeUpstreams {
  readonly connections: FakeConnection[] = [];
  /** Open each connection as soon as it is made (on a microtask, like a fast server). */
  autoOpen = true;
  /** Called for each new connection, e.g. to script replies. */
  onConnection: ((connection: FakeConnection) => void) | undefined;

  readonly factory: UpstreamFactory = (handlers) => {
    const connection = new FakeConnection(handlers);
    this.connections.push(connection);
    this.onConnection?.(connection);
    if (this.autoOpen) queueMicrotask(() => connection.closed || connection.open());
    return connection;
  };

  get last(): FakeConnection {
    const last = this.connections.at(-1);
    if (!last) throw new Error("no connection yet");
    return last;
  }
}

/** Replies to every commit like a server: committed, then the transcript `"<n>"` (n = commit count). */
export function answerCommits(connection: FakeConnection): void {
  const send = connection.send.bind(connection);
  let count = 0;
  connection.send = (event) => {
    send(event);
    if (event.type !== "input_audio_buffer.commit") return;
    const itemId = `item${++count}`;
    queueMicrotask(() => {
      connection.emit({ type: "input_audio_buffer.committed", item_id: itemId, event_id: "e" });
      connection.emit({ type: "conversation.item.input_audio_transcription.delta", item_id: itemId, delta: "partial", event_id: "e" });
      connection.emit({
        type: "conversation.item.input_audio_transcription.completed",
        item_id: itemId,
        transcript: String(count),
        event_id: "e",
      } as never);
    });
  };
}
