/**
 * The upstream seam: one realtime transcription connection. Sessions talk to this small interface, so tests
 * drive them with a fake, and production uses the official `openai` SDK's `OpenAIRealtimeWS`.
 */
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";

/** A server event as received; typed by the SDK, but unknown types may arrive too. */
export type UpstreamEvent = RealtimeServerEvent | { type: string; [key: string]: unknown };

/** Callbacks from one upstream connection. `onClose` is called exactly once, whoever closed it. */
export interface UpstreamHandlers {
  onOpen(): void;
  onEvent(event: UpstreamEvent): void;
  onClose(reason: string): void;
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
    const finish = (reason: string): void => {
      if (closed) return;
      closed = true;
      handlers.onClose(reason);
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
    rt.socket.on("close", (code: number, reason: Buffer) => {
      finish(lastError || `closed ${code}${reason?.length ? ` ${reason.toString()}` : ""}`);
    });
    return {
      send: (event) => rt.send(event),
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
