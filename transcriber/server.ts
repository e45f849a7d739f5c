/**
 * The transcriber's HTTP + WebSocket server: `GET /health` and `WS /v1/listen`. One TranscriptionSession per
 * socket (or a byte-for-byte echo with TRANSCRIBER_BACKEND=echo). `stop()` drains: no new sessions, every
 * open one is closed like a CloseStream, bounded in time.
 */
import { chmodSync, rmSync } from "node:fs";
import pino, { type Logger } from "pino";
import type { ServerWebSocket } from "bun";
import { loadConfig, type TranscriberConfig } from "./config.ts";
import { OpusStreamDecoder } from "./opus.ts";
import { parseListenParams, type ListenParams } from "./params.ts";
import { Linear16Converter } from "./pcm.ts";
import type { ClientMessage } from "./protocol.ts";
import { openAIUpstreamFactory, type UpstreamFactory } from "./realtime.ts";
import { TranscriptionSession, type AudioInput } from "./session.ts";

/** Largest client frame accepted; bigger ones close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** How long `stop()` waits for sessions to deliver their finals. */
const DRAIN_WAIT_MS = 4_000;

export interface TranscriberOptions {
  /** Overrides PORT; 0 picks a free port. */
  port?: number;
  /** Overrides HOST. */
  host?: string;
  /** Environment to configure from; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Upstream connections; defaults to the OpenAI SDK (tests inject a fake). */
  upstream?: UpstreamFactory;
  logger?: Logger;
  /** CloseStream's wait for outstanding transcripts. */
  closeWaitMs?: number;
  /** First upstream reconnect delay (doubles per attempt); tests shorten it. */
  reconnectBaseMs?: number;
}

/** A running transcriber. */
export interface RunningTranscriber {
  port: number;
  /** Stops accepting, closes every session after its finals (bounded), then stops the server. */
  stop(): Promise<void>;
}

interface SocketData {
  params: ListenParams;
  opus: OpusStreamDecoder | undefined;
  session?: TranscriptionSession;
}

/**
 * Starts the transcriber.
 * @throws ConfigError when the environment is invalid.
 */
export async function startTranscriber(options: TranscriberOptions = {}): Promise<RunningTranscriber> {
  const config = loadConfig(options.env ?? process.env);
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: "transcriber" } });
  const echo = config.backend === "echo";
  const connect = options.upstream ?? (echo ? undefined : openAIUpstreamFactory(upstreamOptions(config)));
  const sockets = new Set<ServerWebSocket<SocketData>>();
  let draining = false;

  // The same routes on TCP and, when LISTEN_SOCKET is set, on a Unix socket (the gateway's data path).
  const listen = (where: { port: number; hostname: string } | { unix: string }) => Bun.serve({
    ...where,
    async fetch(request, srv) {
      const url = new URL(request.url);
      if (url.pathname === "/health") {
        return Response.json({ status: draining ? "draining" : "ok", sessions: sockets.size, backend: config.backend });
      }
      if (url.pathname !== "/v1/listen") return new Response("not found\n", { status: 404 });
      if (draining) return new Response("draining\n", { status: 503, headers: { "Retry-After": "1" } });
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("expected a WebSocket upgrade\n", { status: 426 });
      }
      const params = parseListenParams(url.searchParams);
      if ("error" in params) return new Response(`${params.error}\n`, { status: 400 });
      // Decoder creation is async (wasm), so it happens before the upgrade: no frame can beat it.
      const opus = !echo && params.encoding === "opus" ? await OpusStreamDecoder.create() : undefined;
      if (srv.upgrade(request, { data: { params, opus } })) return undefined;
      opus?.free();
      return new Response("upgrade failed\n", { status: 400 });
    },
    websocket: {
      data: {} as SocketData,
      maxPayloadLength: MAX_FRAME_BYTES,
      idleTimeout: 120,
      open(ws) {
        sockets.add(ws);
        if (echo) return;
        const { params } = ws.data;
        ws.data.session = new TranscriptionSession({
          input: audioInput(params, ws.data.opus),
          connect: connect!,
          model: config.model,
          language: params.language,
          realtimeSessionMaxMs: config.realtimeSessionMaxMs,
          send: (message: ClientMessage) => ws.send(JSON.stringify(message)),
          close: (code, reason) => ws.close(code, reason),
          log: log.child({ sessionId: params.sessionId }),
          closeWaitMs: options.closeWaitMs,
          reconnectBaseMs: options.reconnectBaseMs,
        });
        log.info({ sessionId: params.sessionId, encoding: params.encoding }, "Session opened");
      },
      message(ws, message) {
        if (echo) {
          // Kept free of JSON and string work per binary frame: relay benchmarks measure this path.
          if (typeof message !== "string") ws.send(message);
          else if (message.includes("CloseStream")) ws.close(1000, "stream closed");
          return;
        }
        const session = ws.data.session!;
        if (typeof message === "string") session.onText(message);
        else session.onBinary(message);
      },
      close(ws, code) {
        sockets.delete(ws);
        ws.data.session?.dispose();
        ws.data.opus?.free();
        if (!echo) log.info({ sessionId: ws.data.params.sessionId, code }, "Session closed");
      },
    },
  });
  const socketServer = config.socketPath === undefined ? undefined : listenOnSocket(config.socketPath, listen, log);
  const server = listen({ port: options.port ?? config.port, hostname: options.host ?? config.host });

  log.info(
    { port: server.port, socket: socketServer ? config.socketPath : null, backend: config.backend, model: config.model, baseUrl: config.baseUrl ?? "default" },
    "Transcriber listening",
  );

  let stopping: Promise<void> | undefined;
  return {
    port: server.port!,
    stop: () => (stopping ??= drain()),
  };

  async function drain(): Promise<void> {
    draining = true;
    const closes = [...sockets].map((ws) => {
      if (ws.data.session) return ws.data.session.closeStream(1000, "server shutting down");
      ws.close(1000, "server shutting down");
      return Promise.resolve();
    });
    await Promise.race([Promise.all(closes), Bun.sleep(DRAIN_WAIT_MS)]);
    await Promise.all([server.stop(true), socketServer?.stop(true)]);
    log.info("Transcriber stopped");
  }
}

function upstreamOptions(config: TranscriberConfig) {
  return { apiKey: config.apiKey ?? "", baseUrl: config.baseUrl, caPem: config.caPem };
}

function audioInput(params: ListenParams, opus: OpusStreamDecoder | undefined): AudioInput {
  if (opus) return (frame) => opus.decode(frame);
  const converter = new Linear16Converter(params.sampleRateHz, params.channels);
  return (frame) => ({ pcm: converter.push(frame), concealed: false });
}

/**
 * Serves on a Unix socket as well; a socket that cannot be made (e.g. a mount without write access) is logged
 * and skipped, since TCP still serves every session. Started before TCP, so a healthy /health means both are up.
 */
function listenOnSocket<T>(path: string, listen: (where: { unix: string }) => T, log: Logger): T | undefined {
  try {
    rmSync(path, { force: true }); // a socket file left by an earlier process would make listen fail
    const server = listen({ unix: path });
    // Connecting needs write access to the socket file, and the gateway is another user (or root with every
    // capability dropped, as in the Quadlet unit). The gateway's private parent directory is the access check.
    chmodSync(path, 0o666);
    return server;
  } catch (error) {
    log.warn({ socket: path, error: (error as Error).message }, "Unix socket not available; serving TCP only");
    return undefined;
  }
}
