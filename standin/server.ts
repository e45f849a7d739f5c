/**
 * A local stand-in for OpenAI's Realtime transcription API, for development and tests without network or
 * key: TLS (the SDK only dials `wss:`) with a cached self-signed certificate, `WS /v1/realtime` speaking the
 * GA transcription events (see protocol.ts), an energy VAD, and transcripts that describe the audio
 * received (format in transcript.ts). Point the SDK at `baseUrl` and make it trust `caFile` / `caPem`:
 * `new OpenAIRealtimeWS({ intent: "transcription", options: { ca: caPem } }, new OpenAI({ baseURL }))`,
 * or `NODE_EXTRA_CA_CERTS=<caFile>` in the client process's environment at start.
 *
 * Extra HTTP routes for tests: `GET /v1/standin/sessions` (every connection so far, as JSON) and
 * `POST /v1/standin/fail?kind=drop|error|stall|reject[&times=N]` (same as {@link Standin.failNext}).
 */
import { timingSafeEqual } from "node:crypto";
import { DEFAULT_CERT_DIR, loadOrCreateCert } from "./cert.ts";
import { RealtimeConnection, type FaultKind, type StandinSession } from "./protocol.ts";
import { DEFAULT_VAD, type VadOptions } from "./vad.ts";

export type { FaultKind, StandinSession } from "./protocol.ts";

export interface StandinOptions {
  /** 0 (default): a free port. */
  port?: number;
  /** Default 127.0.0.1: the certificate covers 127.0.0.1, ::1 and localhost. */
  host?: string;
  /** Where the certificate is cached; default `.cache/standin/` under the project root. */
  certDir?: string;
  /** When set, connections need `Authorization: Bearer <apiKey>`; otherwise any key is accepted. */
  apiKey?: string;
  /** Server VAD defaults for new sessions (a `session.update` can still change them). */
  vad?: Partial<VadOptions>;
  /** Time between transcription deltas (default 2 ms). */
  deltaGapMs?: number;
}

export interface Standin {
  /** `https://127.0.0.1:PORT/v1`: the `baseURL` for `new OpenAI(...)`. */
  baseUrl: string;
  port: number;
  /** PEM file to trust (NODE_EXTRA_CA_CERTS, OPENAI_CA_FILE). */
  caFile: string;
  /** The same certificate as text (a `ws` client's `ca` option). */
  caPem: string;
  /** Every connection so far, refused ones included, oldest first (snapshots). */
  sessions(): StandinSession[];
  /** Injects `kind` into the next `times` items (or connections, for `reject`); see {@link FaultKind}. */
  failNext(kind: FaultKind, times?: number): void;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

const FAULT_KINDS: readonly FaultKind[] = ["drop", "error", "stall", "reject"];

interface SocketData {
  record: StandinSession;
  /** Created in `open`, where the socket it talks through exists. */
  connection?: RealtimeConnection;
}

/** Starts a stand-in; resolves once it listens. */
export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const { certPem, keyPem, caFile } = await loadOrCreateCert(opts.certDir ?? DEFAULT_CERT_DIR);
  const vad: VadOptions = { ...DEFAULT_VAD, ...opts.vad };
  const records: StandinSession[] = [];
  const faults: FaultKind[] = [];
  let sessionCount = 0;

  const takeFault = <K extends FaultKind>(kinds: readonly K[]): K | undefined => {
    const i = faults.findIndex((f) => (kinds as readonly FaultKind[]).includes(f));
    return i < 0 ? undefined : (faults.splice(i, 1)[0] as K);
  };
  const failNext = (kind: FaultKind, times = 1) => {
    for (let i = 0; i < times; i++) faults.push(kind);
  };
  const newRecord = (model: string | undefined, authorized: boolean): StandinSession => {
    const record: StandinSession = {
      id: `standin-${++sessionCount}`,
      ...(model ? { model } : {}),
      receivedAudioMs: 0,
      receivedBytes: 0,
      commits: 0,
      transcripts: [],
      open: authorized,
      authorized,
    };
    records.push(record);
    return record;
  };
  const snapshot = () => records.map((r) => ({ ...r, transcripts: [...r.transcripts] }));

  const server = Bun.serve<SocketData>({
    port: opts.port ?? 0,
    hostname: opts.host ?? "127.0.0.1",
    tls: { cert: certPem, key: keyPem },
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/v1/realtime") {
        const model = url.searchParams.get("model") ?? undefined;
        if (!bearerMatches(req.headers.get("authorization"), opts.apiKey)) {
          newRecord(model, false);
          return Response.json(
            { error: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided." } },
            { status: 401 },
          );
        }
        if (takeFault(["reject"])) {
          newRecord(model, false);
          return Response.json({ error: { type: "server_error", message: "Stand-in: injected rejection." } }, { status: 503 });
        }
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Expected a WebSocket upgrade", { status: 426 });
        const record = newRecord(model, true);
        if (srv.upgrade(req, { data: { record } })) return undefined;
        record.open = false;
        return new Response("WebSocket upgrade failed", { status: 400 });
      }
      if (url.pathname === "/v1/standin/sessions" && req.method === "GET") return Response.json(snapshot());
      if (url.pathname === "/v1/standin/fail" && req.method === "POST") {
        const kind = url.searchParams.get("kind") as FaultKind;
        const times = Number(url.searchParams.get("times") ?? 1);
        if (!FAULT_KINDS.includes(kind) || !Number.isInteger(times) || times < 1) {
          return Response.json({ error: `kind must be one of ${FAULT_KINDS.join(", ")}; times a positive integer` }, { status: 400 });
        }
        failNext(kind, times);
        return Response.json({ pending: [...faults] });
      }
      return new Response("Not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        const connection = new RealtimeConnection(ws.data.record, vad, {
          send: (event) => ws.sendText(JSON.stringify(event)),
          terminate: () => ws.terminate(),
          takeItemFault: () => takeFault(["drop", "error", "stall"] as const),
          deltaGapMs: opts.deltaGapMs ?? 2,
        });
        ws.data.connection = connection;
        connection.open();
      },
      message(ws, message) {
        ws.data.connection?.receive(typeof message === "string" ? message : new Uint8Array(message));
      },
      close(ws) {
        ws.data.record.open = false;
      },
    },
  });

  const port = server.port!;
  const host = opts.host ?? "127.0.0.1";
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    baseUrl: `https://${urlHost}:${port}/v1`,
    port,
    caFile,
    caPem: certPem,
    sessions: snapshot,
    failNext,
    async close() {
      await server.stop(true);
      for (const r of records) r.open = false;
    },
  };
}

/** True when no key is required, or the header carries exactly it (compared in constant time). */
function bearerMatches(header: string | null, apiKey: string | undefined): boolean {
  if (apiKey === undefined) return true;
  const given = Buffer.from(header?.match(/^Bearer (.+)$/i)?.[1] ?? "");
  const wanted = Buffer.from(apiKey);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
