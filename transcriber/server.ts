/**
 * The transcriber's HTTP + WebSocket server: `GET /health`, `WS /v1/listen` and `WS /v1/mux`. One session
 * per socket or mux channel (a TranscriptionSession, or a byte-for-byte echo with TRANSCRIBER_BACKEND=echo).
 * `stop()` drains: no new sessions, every open one gets its finals and then Error + 1012 (protocol.ts
 * SHUTDOWN), bounded in time.
 */
import { chmodSync, rmSync } from "node:fs";
import pino, { type Logger } from "pino";
import type { ServerWebSocket } from "bun";
import { loadConfig, type TranscriberConfig } from "./config.ts";
import { chooseOpusBuild } from "./opus-core.ts";
import { OpusStreamDecoder } from "./opus.ts";
import { parseListenParams, type ListenParams } from "./params.ts";
import { type MuxHooks, MuxPeer, type SessionHandle, type SessionPeer } from "./mux-server.ts";
import { MAX_LINK_MESSAGE_BYTES } from "./mux-wire.ts";
import { Linear16Converter } from "./pcm.ts";
import { type ClientMessage, SHUTDOWN } from "./protocol.ts";
import { openAIUpstreamFactory, type UpstreamFactory } from "./realtime.ts";
import { TranscriptionSession, type AudioInput } from "./session.ts";
import { LocalBackend } from "./local/backend.ts";
import { LoadMeter, maxCpuShareFor } from "./load-meter.ts";
import { RECOGNIZER_RATE_HZ } from "./local/recognizer.ts";

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
  /** Stops accepting, ends every session after its finals with Error + 1012 (bounded), then stops the server. */
  stop(): Promise<void>;
}

/** A `/v1/listen` socket: one session, its decoder made before the upgrade. */
interface ListenSocket {
  kind: "listen";
  params: ListenParams;
  opus: OpusStreamDecoder | undefined;
  session?: SessionHandle;
}

/** A `/v1/mux` link: the gateway's sessions as channels (see mux-server.ts), its peer made on open. */
interface MuxSocket {
  kind: "mux";
  peer?: MuxPeer;
}

type SocketData = ListenSocket | MuxSocket;

/**
 * Starts the transcriber.
 * @throws ConfigError when the environment is invalid.
 */
export async function startTranscriber(options: TranscriberOptions = {}): Promise<RunningTranscriber> {
  const config = loadConfig(options.env ?? process.env);
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: "transcriber" } });
  const echo = config.backend === "echo";
  const opusChoice = await chooseOpusBuild(config.opusDecoder);
  const opusBuild = opusChoice.build;
  if (opusChoice.fallback) log.warn({ reason: opusChoice.fallback }, "Native libopus unavailable; decoding with libopus-wasm");
  const local =
    config.backend === "local"
      ? new LocalBackend({ maxSessions: config.localMaxSessions, modelDir: config.localModelDir, log })
      : undefined;
  const connect = options.upstream ?? (echo || local ? undefined : openAIUpstreamFactory(upstreamOptions(config)));
  const pcmRateHz = local ? RECOGNIZER_RATE_HZ : undefined;
  const sockets = new Set<ServerWebSocket<SocketData>>();
  const links = new Set<MuxPeer>();
  let draining = false;
  const meter = new LoadMeter({ maxCpuShare: maxCpuShareFor(config.containerCpus), sessions: () => openSessions() });
  // The local recognizer decodes on this thread by design, up to LOCAL_MAX_SESSIONS sized from the CPU: its
  // capacity is a free recognizer, not the loop's lag. The other backends take sessions while the loop keeps up.
  const loadReport = () => {
    if (!local) return meter.report;
    const { inUse, maxSessions } = local.pool;
    if (inUse < maxSessions) return { ...meter.report, accepting: true };
    return { ...meter.report, accepting: false, limit: `every recognizer is in use (LOCAL_MAX_SESSIONS=${maxSessions})` };
  };

  /** A session talking to `peer`, the same for a plain socket and a mux channel: the echo, the local recognizer or a transcription. */
  const startSession = (params: ListenParams, opus: OpusStreamDecoder | undefined, peer: EchoPeer): SessionHandle => {
    if (echo) return echoSession(peer);
    log.info({ sessionId: params.sessionId, encoding: params.encoding }, "Session opened");
    if (local) return local.startSession(params, audioInput(params, opus, RECOGNIZER_RATE_HZ), peer);
    const model = params.model ?? config.model;
    return new TranscriptionSession({
      input: audioInput(params, opus),
      connect: connect!,
      model,
      language: params.language,
      features: {
        interimResults: params.interimResults,
        speechStarted: params.vadEvents,
        utteranceEnd: params.utteranceEndMs !== undefined,
        utteranceEndGapMs: params.utteranceEndMs,
      },
      context: { requestId: params.requestId ?? crypto.randomUUID(), modelName: model, arch: config.backend },
      endpointingMs: params.endpointingMs,
      channels: params.channels,
      echo: { tags: params.tags, extra: params.extra },
      realtimeSessionMaxMs: config.realtimeSessionMaxMs,
      send: (message: ClientMessage) => peer.send(JSON.stringify(message)),
      close: (code, reason) => peer.close(code, reason),
      log: log.child({ sessionId: params.sessionId }),
      closeWaitMs: options.closeWaitMs,
      reconnectBaseMs: options.reconnectBaseMs,
    });
  };
  const sessionEnded = (params: ListenParams, code: number) => {
    if (!echo) log.info({ sessionId: params.sessionId, code }, "Session closed");
  };
  const muxHooks: MuxHooks = {
    decodesOpus: !echo,
    opusBuild,
    pcmRateHz,
    maxFrameBytes: MAX_FRAME_BYTES,
    startSession,
    ended: sessionEnded,
  };
  const openSessions = () => sockets.size - links.size + [...links].reduce((sum, link) => sum + link.size, 0);

  // The same routes on TCP and, when LISTEN_SOCKET is set, on a Unix socket (the gateway's data path).
  const listen = (where: { port: number; hostname: string } | { unix: string }) =>
    Bun.serve({
      ...where,
      async fetch(request, srv) {
        const url = new URL(request.url);
        if (url.pathname === "/health") {
          const recognizers = local ? { recognizers: { inUse: local.pool.inUse, max: local.pool.maxSessions } } : {};
          return Response.json({
            status: draining ? "draining" : "ok",
            sessions: openSessions(),
            backend: config.backend,
            opus: `${opusBuild.kind} ${opusBuild.version}`,
            load: loadReport(),
            ...recognizers,
          });
        }
        if (url.pathname !== "/v1/listen" && url.pathname !== "/v1/mux") return new Response("not found\n", { status: 404 });
        if (draining) return new Response("draining\n", { status: 503, headers: { "Retry-After": "1" } });
        if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return new Response("expected a WebSocket upgrade\n", { status: 426 });
        }
        if (url.pathname === "/v1/mux") {
          const data: MuxSocket = { kind: "mux" };
          return srv.upgrade(request, { data }) ? undefined : new Response("upgrade failed\n", { status: 400 });
        }
        const params = parseListenParams(url.searchParams);
        if ("error" in params) return new Response(`${params.error}\n`, { status: 400 });
        // Decoder creation is async (wasm), so it happens before the upgrade: no frame can beat it.
        const opus = !echo && params.encoding === "opus" ? await OpusStreamDecoder.create(pcmRateHz, opusBuild) : undefined;
        const data: ListenSocket = { kind: "listen", params, opus };
        if (srv.upgrade(request, { data })) return undefined;
        opus?.free();
        return new Response("upgrade failed\n", { status: 400 });
      },
      websocket: {
        data: {} as SocketData,
        // The mux link carries batches; a session's own frames are held to MAX_FRAME_BYTES in message().
        maxPayloadLength: MAX_LINK_MESSAGE_BYTES,
        idleTimeout: 120,
        open(ws) {
          sockets.add(ws);
          const data = ws.data;
          if (data.kind === "mux") {
            data.peer = new MuxPeer((batch) => ws.send(batch), muxHooks);
            links.add(data.peer);
            return;
          }
          data.session = startSession(data.params, data.opus, {
            send: (message) => ws.send(message),
            sendBinary: (frame) => ws.send(frame),
            close: (code, reason) => ws.close(code, reason),
          });
        },
        message(ws, message) {
          const data = ws.data;
          if (data.kind === "mux") {
            if (typeof message === "string") return ws.close(1003, "the mux link carries binary batches only");
            try {
              data.peer!.receive(message);
            } catch (error) {
              log.error({ error: (error as Error).message }, "malformed mux batch; closing the link");
              ws.close(1002, "malformed mux batch");
            }
            return;
          }
          if (message.length > MAX_FRAME_BYTES) return ws.close(1009, `frame over ${MAX_FRAME_BYTES} bytes`);
          if (typeof message === "string") data.session!.onText(message);
          else data.session!.onBinary(message);
        },
        close(ws, code) {
          sockets.delete(ws);
          const data = ws.data;
          if (data.kind === "mux") {
            if (data.peer) links.delete(data.peer);
            return data.peer?.dispose();
          }
          data.session?.dispose();
          data.opus?.free();
          sessionEnded(data.params, code);
        },
      },
    });
  const socketServer = config.socketPath === undefined ? undefined : listenOnSocket(config.socketPath, listen, log);
  const server = listen({ port: options.port ?? config.port, hostname: options.host ?? config.host });

  log.info(
    {
      port: server.port,
      socket: socketServer ? config.socketPath : null,
      backend: config.backend,
      opus: `${opusBuild.kind} ${opusBuild.version}`,
      model: config.model,
      baseUrl: config.baseUrl ?? "default",
    },
    "Transcriber listening",
  );

  let stopping: Promise<void> | undefined;
  return {
    port: server.port!,
    stop: () => (stopping ??= drain()),
  };

  async function drain(): Promise<void> {
    draining = true;
    // Every session gets its finals, then an Error and 1012 (protocol.ts SHUTDOWN): the client reconnects.
    const closes = [...sockets].flatMap((ws) => {
      const data = ws.data;
      if (data.kind === "mux") return data.peer?.shutDownAll() ?? [];
      return data.session ? [data.session.shutDown()] : [];
    });
    await Promise.race([Promise.all(closes), Bun.sleep(DRAIN_WAIT_MS)]);
    for (const link of links) link.flush(); // the finals and close records of this turn, before the sockets go
    await Promise.all([server.stop(true), socketServer?.stop(true)]);
    local?.close();
    meter.stop();
    log.info("Transcriber stopped");
  }
}

/** A session's peer as the echo backend needs it: binary frames go back as they came. */
type EchoPeer = SessionPeer & { sendBinary(frame: Uint8Array): void };

/**
 * The echo backend (TRANSCRIBER_BACKEND=echo), the one implementation for plain sockets and mux channels:
 * binary frames straight back, free of JSON and string work (relay benchmarks measure this path); CloseStream
 * closes 1000, a shutdown as SHUTDOWN says.
 */
function echoSession(peer: EchoPeer): SessionHandle {
  return {
    onBinary: (frame) => peer.sendBinary(frame),
    onText: (text) => {
      if (text.includes("CloseStream")) peer.close(1000, "stream closed");
    },
    shutDown: async () => {
      peer.send(JSON.stringify(SHUTDOWN.notice));
      peer.close(SHUTDOWN.code, SHUTDOWN.reason);
    },
    dispose: () => undefined,
  };
}

function upstreamOptions(config: TranscriberConfig) {
  return { apiKey: config.apiKey ?? "", baseUrl: config.baseUrl, caPem: config.caPem };
}

function audioInput(params: ListenParams, opus: OpusStreamDecoder | undefined, rateHz?: number): AudioInput {
  // Both sessions copy each frame's PCM into their own batch at once: no copy of the decoder's output needed.
  if (opus) return (frame) => opus.decodeTransient(frame);
  const converter = new Linear16Converter(params.sampleRateHz, params.channels, rateHz);
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
