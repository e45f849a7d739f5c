/**
 * `WS /v1/listen`: validate, admit, route (refusing with HTTP before the upgrade), upgrade; from there the
 * session's own object (session.ts) acquires the instance, sends Metadata, attaches the transcriber through
 * its relay and ends once, releasing everything it held.
 *
 * It runs as the app's first request hook and upgrades the socket itself, ahead of Elysia's routing: Elysia's
 * ws route built a context, parsed cookies, ran its hooks twice and wrapped every callback, which measured
 * ~0.1 ms at the median and ~1 ms at p99 of a warm connect. Bun then calls the per-socket handlers this route
 * puts in `ws.data` (Elysia's Bun adapter dispatches `open`/`message`/`close` through them).
 */
import { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import { replenishSpares } from "../lifecycle/upkeep.ts";
import type { Refusal } from "../refusal.ts";
import { clientIp } from "../security/admission.ts";
import { upgradeHeaders } from "../security/credentials.ts";
import type { GatewayState } from "../state.ts";
import { clusterAdmission } from "../cluster/admission.ts";
import { type ListenQuery, parseListenQuery } from "./query.ts";
import type { ClientSocket } from "./relay.ts";
import { Session, type SessionDeps } from "./session.ts";

/** What a listen socket carries in `ws.data`: the handlers Elysia's Bun adapter calls. */
import {
  type DeepgramOptions,
  deepgramUpstreamParams,
  handshakeHeaders,
  modelTableOf,
  openingMetadataFields,
  parseDeepgramQuery,
  refusalResponse,
} from "../deepgram/index.ts";
interface SocketData {
  open(ws: ServerWebSocket<SocketData>): void;
  message(ws: ServerWebSocket<SocketData>, message: string | Uint8Array): void;
  close(ws: ServerWebSocket<SocketData>, code: number, reason: string): void;
}

type Server = {
  upgrade(request: Request, options: { headers?: HeadersInit; data: SocketData }): boolean;
  requestIP(request: Request): { address: string } | null;
};

/** What every session of this gateway uses, read at use time (a reload swaps the strategy and the config). */
export function sessionDeps(state: GatewayState): SessionDeps {
  return {
    selector: () => state.selector,
    registry: state.registry,
    links: state.links,
    book: state.sessions,
    events: state.events,
    log: state.log,
    acquireIp: (ip) => state.security.connections.acquire(ip),
    engineProblem: () => state.engineProblem,
    loads: state.loads,
    backpressureLimitBytes: () => state.config.backpressureLimitBytes,
    gatewayId: () => state.config.gatewayId,
  };
}

/** The listen route as an Elysia plugin over the gateway's shared state. */
export function listenRoute(state: GatewayState) {
  const deps = sessionDeps(state);
  return new Elysia({ name: "listen" }).onRequest(({ request, server }) => {
    const path = pathOf(request.url);
    // POST /v1/listen is Deepgram's pre-recorded route (app/deepgram/prerecorded.ts).
    if (path !== "/v1/listen" || request.method === "POST") return;
    return upgradeListen(state, deps, request, server as unknown as Server);
  });
}

/** The path of an absolute request URL, without building a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/**
 * Admission and routing for one upgrade request; a refusal is an HTTP response. After a successful upgrade
 * Bun ignores the response this returns (an empty one, so Elysia's routing stops here).
 */
function upgradeListen(state: GatewayState, deps: SessionDeps, request: Request, server: Server): Response | Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return refusalResponse(426, "expected a WebSocket upgrade", { upgrade: "websocket" });
  }
  const url = request.url;
  const params = new URLSearchParams(url.slice(url.indexOf("?") + 1 || url.length));
  const parsed = parseListenQuery(params);
  if (!parsed.ok) return refusalResponse(400, parsed.message);
  const query = parsed.query;
  const deepgram = parseDeepgramQuery(params, modelTableOf(state.config));
  if (!deepgram.ok) return refusalResponse(400, deepgram.message);
  // Per-client checks first: a client that may not connect learns nothing about the gateway's load.
  const ip = clientIp(server, request);
  const refusal = state.security.check({ request, ip, sessionId: query.sessionId }) ?? state.admission();
  if (refusal) return refuse(state, refusal);
  // In a cluster a cap may need Redis's word first (app/cluster/admission.ts); elsewhere this stays synchronous.
  const admission = clusterAdmission(state, query.sessionId);
  if (!admission) return routeAndUpgrade(state, deps, request, server, query, deepgram.options, ip);
  return admission.then((admitted) => {
    if (!("instanceId" in admitted)) return refuse(state, admitted);
    try {
      return routeAndUpgrade(state, deps, request, server, query, deepgram.options, ip);
    } finally {
      state.selector.settleAdmission?.(query.sessionId!, admitted.instanceId);
    }
  });
}

/** Routes an admitted request, upgrades it, and hands the socket to its session. */
function routeAndUpgrade(
  state: GatewayState,
  deps: SessionDeps,
  request: Request,
  server: Server,
  query: ListenQuery,
  options: DeepgramOptions,
  ip: string,
): Response {
  const requestId = crypto.randomUUID();
  const routed = Session.route(deps, {
    query,
    ip,
    requestId,
    upstreamParams: deepgramUpstreamParams(options, requestId).toString(),
    metadataFields: () => openingMetadataFields(Date.now(), query.channels ?? 1),
  });
  if (!("session" in routed)) return refuse(state, routed);
  const { session, decisionUs } = routed;
  const data: SocketData = {
    open: (ws) => session.opened(ws as unknown as ClientSocket),
    message: (_ws, message) => session.fromClient(message),
    close: (_ws, code, reason) => session.clientClosed(code, reason),
  };
  state.events.emit({ type: "routed", instanceId: session.instanceId, decisionUs });
  replenishSpares(state);
  // Bun runs `open` inside upgrade(), so everything above is done before the session starts.
  const headers = {
    ...upgradeHeaders(request),
    ...handshakeHeaders(requestId, session.sessionId, session.instanceId, state.selector.mode),
  };
  if (!server.upgrade(request, { headers, data })) {
    // Not a valid handshake after all (Bun checks the key and version).
    session.upgradeFailed();
    return refusalResponse(400, "invalid WebSocket handshake");
  }
  // The routing line operators grep for (its wording is part of the log contract), written once this turn's
  // work (Metadata for a warm session) is done: a synchronous log write was a third of the upgrade's CPU in
  // the connect profile.
  const { sessionId, instanceId } = session;
  setImmediate(() =>
    state.log.info(
      { sessionId, instance: instanceId, requestId },
      `Using dispatcher for sessionId: ${sessionId}, container: ${instanceId}`,
    ),
  );
  return new Response(null);
}

function refuse(state: GatewayState, refusal: Refusal): Response {
  state.countRejection(refusal.reason, refusal.status);
  const { status, message, retryAfterS } = refusal;
  return refusalResponse(status, message, retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) });
}
