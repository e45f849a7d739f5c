/**
 * The upstream seam: one realtime transcription connection. Sessions talk to this small interface, so tests
 * drive them with a fake, and production uses the official `openai` SDK's `OpenAIRealtimeWS`.
 */
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";

/** A server event as received; typed by the SDK, but unknown types may arrive too. */
export type UpstreamEvent = RealtimeServerEvent | { type: string; [key: string]: unknown };

/** The upstream refused the connection's handshake with this HTTP status, before any event. */
export class UpstreamRefusal {
  constructor(readonly status: number) {}

  /** 401/403: the API key is wrong or lacks access; retrying with it cannot succeed. */
  get authRefused(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** Callbacks from one upstream connection. `onClose` is called exactly once, whoever closed it. */
export interface UpstreamHandlers {
  onOpen(): void;
  onEvent(event: UpstreamEvent): void;
  /** `reason` is for logs and the client; `refusal` is set when the handshake was refused. */
  onClose(reason: string, refusal?: UpstreamRefusal): void;
}

/** One realtime connection, already connecting when returned. */
export interface Upstream {
  /** Sends one client event; only called after `onOpen`. */
  send(event: RealtimeClientEvent): void;
  /** Bytes queued in the socket and not yet written: the backpressure signal. */
  bufferedBytes(): number;
  /** Closes with 1000; `onClose` follows. */
  close(): void;
}

/**
 * An event as the upstream's socket carries it. Audio appends, sent many times a second per session, are written
 * by hand: JSON.stringify would scan kilobytes of base64 that cannot need escaping.
 */
export function encodeEvent(event: RealtimeClientEvent): string {
  if (event.type === "input_audio_buffer.append") return `{"type":"input_audio_buffer.append","audio":"${event.audio}"}`;
  return JSON.stringify(event);
}

/** Opens one upstream connection. */
export type UpstreamFactory = (handlers: UpstreamHandlers) => Upstream;

/** What the OpenAI upstream needs to connect. */
export interface OpenAIUpstreamOptions {
  apiKey: string;
  baseUrl?: string;
  /** Extra CA certificates (PEM) to trust, e.g. the local stand-in's self-signed certificate. */
  caPem?: string;
}

/**
 * Upstreams over the OpenAI SDK with `intent: 'transcription'`. The extra CA goes to the `ws` client as
 * `ca`, which works under Bun per connection (NODE_EXTRA_CA_CERTS would need setting before start).
 */
export function openAIUpstreamFactory(options: OpenAIUpstreamOptions): UpstreamFactory {
  const client = new OpenAI({ apiKey: options.apiKey, ...(options.baseUrl ? { baseURL: options.baseUrl } : {}) });
  const wsOptions = options.caPem ? { ca: options.caPem } : undefined;
  return (handlers) => {
    let closed = false;
    const finish = (reason: string, refusal?: UpstreamRefusal): void => {
      if (closed) return;
      closed = true;
      handlers.onClose(reason, refusal);
    };
    let rt: OpenAIRealtimeWS;
    try {
      rt = new OpenAIRealtimeWS({ intent: "transcription", options: wsOptions }, client);
    } catch (error) {
      queueMicrotask(() => finish(`cannot connect: ${(error as Error).message}`));
      return { send() {}, bufferedBytes: () => 0, close() {} };
    }
    let lastError = "";
    rt.on("event", (event) => handlers.onEvent(event));
    // API errors arrive through "event" too; this listener catches transport failures (and keeps the SDK
    // from turning any error into an unhandled rejection).
    rt.on("error", (error) => {
      if (!error.error) lastError = error.message;
    });
    rt.socket.on("open", () => handlers.onOpen());
    // A refused handshake, with its status as a value rather than inside an error message; handling the
    // event means ending the socket here (the `ws` client then emits no error for it).
    rt.socket.on("unexpected-response", (_request: unknown, response: { statusCode?: number }) => {
      const status = response.statusCode ?? 0;
      finish(`upstream refused the connection: HTTP ${status}`, new UpstreamRefusal(status));
      rt.socket.terminate();
    });
    rt.socket.on("close", (code: number, reason: Buffer) => {
      finish(lastError || `closed ${code}${reason?.length ? ` ${reason.toString()}` : ""}`);
    });
    return {
      send: (event) => {
        if (event.type !== "input_audio_buffer.append") return rt.send(event);
        // Failures go where the SDK's own send puts them.
        try {
          rt.socket.send(encodeEvent(event));
        } catch (error) {
          rt.socket.emit("error", error);
        }
      },
      bufferedBytes: () => rt.socket.bufferedAmount,
      close: () => {
        try {
          rt.close();
        } catch {
          rt.socket.terminate();
        }
      },
    };
  };
}
