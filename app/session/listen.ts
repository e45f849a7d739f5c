/**
 * `WS /v1/listen`: validate, route (refusing with HTTP before the upgrade), then acquire the instance, send
 * Metadata, open the relay to its transcriber (frames queue until it is open) and pass frames through.
 *
 * It runs as the app's first request hook and upgrades the socket itself, ahead of Elysia's routing: Elysia's
 * ws route built a context, parsed cookies, ran its hooks twice and wrapped every callback, which measured
 * ~0.1 ms at the median and ~1 ms at p99 of a warm connect. Bun then calls the per-socket handlers this route
 * puts in `ws.data` (Elysia's Bun adapter dispatches `open`/`message`/`close` through them).
 */
import { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import type { Lease } from "../../runtime/instance.ts";
import { plainText } from "../http.ts";
import { CLOSE, type Metadata } from "../protocol.ts";
import { type ListenQuery, muxUrl, parseListenQuery, upstreamQuery } from "./query.ts";
import { type ClientSocket, Relay } from "./relay.ts";
import type { RouteDecision } from "../routing/strategy.ts";
import { clientIp } from "../security/admission.ts";
import { upgradeHeaders } from "../security/credentials.ts";
import type { GatewayState } from "../state.ts";
import { replenishSpares } from "../lifecycle/upkeep.ts";

interface Admitted {
  decision: Extract<RouteDecision, { ok: true }>;
  query: ListenQuery;
  sessionId: string;
  requestId: string;
  startedAtMs: number;
  releaseIp: () => void;
}

/** What a listen socket carries in `ws.data`: the handlers Elysia's Bun adapter calls, and its relay. */
interface SocketData {
  open(ws: ServerWebSocket<SocketData>): void;
  message(ws: ServerWebSocket<SocketData>, message: string | Uint8Array): void;
  close(ws: ServerWebSocket<SocketData>, code: number, reason: string): void;
  relay?: Relay;
}

type Server = { upgrade(request: Request, options: { headers?: HeadersInit; data: SocketData }): boolean; requestIP(request: Request): { address: string } | null };

/** The listen route as an Elysia plugin over the gateway's shared state. */
export function listenRoute(state: GatewayState) {
  return new Elysia({ name: "listen" }).onRequest(({ request, server }) => {
    const path = pathOf(request.url);
    if (path !== "/v1/listen") return;
    return upgradeListen(state, request, server as unknown as Server);
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
function upgradeListen(state: GatewayState, request: Request, server: Server): Response {
  const { log } = state;
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return plainText(426, "expected a WebSocket upgrade", { upgrade: "websocket" });
  }
  const url = request.url;
  const parsed = parseListenQuery(new URLSearchParams(url.slice(url.indexOf("?") + 1 || url.length)));
  if (!parsed.ok) return plainText(400, parsed.message);
  const query = parsed.query;
  // Per-client checks first: a client that may not connect learns nothing about the gateway's load.
  const ip = clientIp(server, request);
  const denied = state.security.check({ request, ip, sessionId: query.sessionId });
  if (denied) return refuse(state, denied.reason, denied.message, denied.retryAfterS, denied.status);
  const refusal = state.admission();
  if (refusal) return refuse(state, refusal.reason, refusal.message, refusal.retryAfterS);
  const routeStartedAt = performance.now();
  const decision = state.strategy.route({ sessionId: query.sessionId });
  const decisionUs = (performance.now() - routeStartedAt) * 1000;
  if (!decision.ok) {
    const status = decision.reason === "session_required" ? 400 : 503;
    return refuse(state, decision.reason, decision.message, decision.retryAfterS, status);
  }
  const containerRefusal = state.containerAdmission(decision.instanceId);
  if (containerRefusal) return refuse(state, containerRefusal.reason, containerRefusal.message, containerRefusal.retryAfterS);
  const requestId = crypto.randomUUID();
  const sessionId = query.sessionId ?? requestId;
  // Counted from here to session end; released once whichever way it ends (an upgrade that never opens too).
  const releaseIp = state.security.connections.acquire(ip);
  const admitted: Admitted = { decision, query, sessionId, requestId, startedAtMs: performance.now(), releaseIp };
  state.routed(requestId, sessionId, decision.instanceId, releaseIp);
  const data: SocketData = {
    open: (ws) => void openSession(state, ws, admitted),
    message: (ws, message) => ws.data.relay?.fromClient(message),
    close: (ws, code, reason) => ws.data.relay?.clientClosed(code, reason),
  };
  state.events.emit({ type: "routed", instanceId: decision.instanceId, decisionUs });
  replenishSpares(state);
  // Bun runs `open` inside upgrade(), so everything above is done before the session starts.
  if (!server.upgrade(request, { headers: upgradeHeaders(request), data })) {
    // Not a valid handshake after all (Bun checks the key and version): undo the routing now.
    if (state.upgraded(requestId)) {
      state.strategy.closed(sessionId, decision.instanceId);
      releaseIp();
    }
    return plainText(400, "invalid WebSocket handshake");
  }
  // The seed's routing line, written once this turn's work (Metadata for a warm session) is done: a
  // synchronous log write was a third of the upgrade's CPU in the connect profile.
  setImmediate(() =>
    log.info({ sessionId, instance: decision.instanceId, requestId }, `Using dispatcher for sessionId: ${sessionId}, container: ${decision.instanceId}`),
  );
  return new Response(null);
}

/** The socket is open: relay it, acquire the instance, send Metadata, attach the transcriber. */
async function openSession(state: GatewayState, ws: ServerWebSocket<SocketData>, admitted: Admitted): Promise<void> {
  const { config } = state;
  const { decision, query, sessionId, requestId, startedAtMs, releaseIp } = admitted;
  const instance = state.registry.get(decision.instanceId);
  if (!state.upgraded(requestId)) return ws.close(CLOSE.tryAgainLater, "upgrade took too long");
  let lease: Lease | undefined;
  const relay = new Relay({
    client: ws as unknown as ClientSocket,
    backpressureLimitBytes: config.backpressureLimitBytes,
    onActivity: () => instance.touch(),
    onUpstreamLost: () => {
      if (lease) void instance.suspect(lease.containerId);
    },
    onContainerStopping: () => {
      if (lease) instance.retire(lease.containerId);
    },
    onFinish: (code) => {
      lease?.release();
      releaseIp();
      state.strategy.closed(sessionId, decision.instanceId);
      state.sessionEnded(relay, code, { sessionId, instanceId: decision.instanceId, openedAtMs: startedAtMs });
    },
  });
  ws.data.relay = relay;
  state.sessionOpened(relay);

    // Metadata goes out as soon as a running container holds the session: the upstream (a channel on the
    // container's link, opened by its first session) opens in parallel, and frames the client sends
    // meanwhile queue in the relay (bounded) until it is open.
    try {
      lease = await instance.acquire();
    } catch (error) {
      return relay.fail(CLOSE.tryAgainLater, "container_failed", `could not start ${decision.instanceId}: ${(error as Error).message}`);
    }
    if (relay.closed) return lease.release();
    const metadata: Metadata = {
      type: "Metadata",
      session_id: sessionId,
      request_id: requestId,
      container: decision.instanceId,
      routing: state.strategy.mode,
      start: lease.start,
      wait_ms: Math.round((performance.now() - startedAtMs) * 10) / 10,
    };
    relay.sendClient(JSON.stringify(metadata));
    state.events.emit({ type: "session_opened", sessionId, instanceId: decision.instanceId, start: lease.start, waitMs: metadata.wait_ms });

    // A warm container can have died a moment ago without the engine saying so yet: its refusal marks it
    // suspect (the instance probes it), and one more acquire() then starts a fresh one; the session, its
    // queued frames and its Metadata stay as they are.
    for (let attempt = 1; ; attempt++) {
      try {
        await relay.connect(state.links.attach(lease.containerId, muxUrl(lease.endpoint), upstreamQuery(query, sessionId)));
        break;
      } catch (error) {
        const failed = lease;
        lease = undefined;
        failed.release();
        if (relay.closed) return;
        if (attempt === 2) return relay.fail(CLOSE.tryAgainLater, "transcriber_unreachable", (error as Error).message);
        await instance.suspect(failed.containerId);
        try {
          lease = await instance.acquire();
        } catch (error) {
          return relay.fail(CLOSE.tryAgainLater, "container_failed", `could not start ${decision.instanceId}: ${(error as Error).message}`);
        }
        if (relay.closed) return lease.release();
      }
    }
    lease.onCrash((info) =>
      relay.fail(CLOSE.serviceRestart, "container_stopped", `container ${decision.instanceId} stopped (${info.reason}); reconnect`),
    );
}

function refuse(state: GatewayState, reason: string, message: string, retryAfterS?: number, status = 503): Response {
  state.countRejection(reason, status);
  return plainText(status, message, retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) });
}
