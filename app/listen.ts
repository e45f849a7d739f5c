/**
 * `WS /v1/listen`: validate, route (refusing with HTTP before the upgrade), then acquire the instance, send
 * Metadata, open the relay to its transcriber (frames queue until it is open) and pass frames through.
 */
import { Elysia } from "elysia";
import type { Lease } from "../runtime/instance.ts";
import { CLOSE, type Metadata } from "./protocol.ts";
import { listenQuery, muxUrl, upstreamQuery } from "./query.ts";
import { type ClientSocket, Relay } from "./relay.ts";
import type { RouteDecision } from "./routing/strategy.ts";
import { clientIp } from "./security/admission.ts";
import { upgradeHeaders } from "./security/credentials.ts";
import type { GatewayState } from "./state.ts";
import { replenishSpares } from "./upkeep.ts";

interface Admitted {
  decision: Extract<RouteDecision, { ok: true }>;
  sessionId: string;
  requestId: string;
  startedAtMs: number;
  releaseIp: () => void;
}

/** The listen route as an Elysia plugin over the gateway's shared state. */
export function listenRoute(state: GatewayState) {
  const relays = new WeakMap<object, Relay>();
  const { config, log } = state;

  return new Elysia({ name: "listen" }).ws("/v1/listen", {
    query: listenQuery,
    // Elysia runs a ws route's beforeHandle twice on a successful upgrade; `admitted` makes it route once.
    beforeHandle(ctx) {
      const c = ctx as typeof ctx & { admitted?: Admitted };
      if (c.admitted) return;
      // Per-client checks first: a client that may not connect learns nothing about the gateway's load.
      const ip = clientIp(ctx.server, ctx.request);
      const denied = state.security.check({ request: ctx.request, ip, sessionId: ctx.query.sessionId });
      if (denied) return refuse(state, denied.reason, denied.message, denied.retryAfterS, denied.status);
      const refusal = state.admission();
      if (refusal) return refuse(state, refusal.reason, refusal.message, refusal.retryAfterS);
      const routeStartedAt = performance.now();
      const decision = state.strategy.route({ sessionId: ctx.query.sessionId });
      const decisionUs = (performance.now() - routeStartedAt) * 1000;
      if (!decision.ok) {
        const status = decision.reason === "session_required" ? 400 : 503;
        return refuse(state, decision.reason, decision.message, decision.retryAfterS, status);
      }
      const containerRefusal = state.containerAdmission(decision.instanceId);
      if (containerRefusal) return refuse(state, containerRefusal.reason, containerRefusal.message, containerRefusal.retryAfterS);
      const requestId = crypto.randomUUID();
      const sessionId = ctx.query.sessionId ?? requestId;
      // Counted from here to session end; released once whichever way it ends (an upgrade that never opens too).
      const releaseIp = state.security.connections.acquire(ip);
      c.admitted = { decision, sessionId, requestId, startedAtMs: performance.now(), releaseIp };
      Object.assign(ctx.set.headers, upgradeHeaders(ctx.request));
      state.routed(requestId, sessionId, decision.instanceId, releaseIp);
      state.events.emit({ type: "routed", instanceId: decision.instanceId, decisionUs });
      replenishSpares(state);
      log.info({ sessionId, instance: decision.instanceId, requestId }, `Using dispatcher for sessionId: ${sessionId}, container: ${decision.instanceId}`);
    },

    async open(ws) {
      const admitted = (ws.data as { admitted?: Admitted }).admitted!;
      const { decision, sessionId, requestId, startedAtMs, releaseIp } = admitted;
      const instance = state.registry.get(decision.instanceId);
      if (!state.upgraded(requestId)) return ws.close(CLOSE.tryAgainLater, "upgrade took too long");
      let lease: Lease | undefined;
      const relay = new Relay({
        // Elysia's copy of Bun's ServerWebSocket type predates getBufferedAmount; the object has it.
        client: ws.raw as unknown as ClientSocket,
        backpressureLimitBytes: config.backpressureLimitBytes,
        onActivity: () => instance.touch(),
        onUpstreamLost: () => {
          if (lease) void instance.suspect(lease.containerId);
        },
        onFinish: (code) => {
          lease?.release();
          releaseIp();
          state.strategy.closed(sessionId, decision.instanceId);
          state.sessionEnded(relay, code, { sessionId, instanceId: decision.instanceId, openedAtMs: startedAtMs });
        },
      });
      relays.set(ws.raw, relay);
      state.sessionOpened(relay);
      directFrames(ws.raw, relay);

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
          await relay.connect(state.links.attach(lease.containerId, muxUrl(lease.endpoint), upstreamQuery(ws.data.query, sessionId)));
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
    },

    // Only for a socket directFrames() has not taken over (none once open() ran); kept as the fallback.
    message(ws, message) {
      const relay = relays.get(ws.raw);
      if (!relay) return;
      // Elysia parses text frames that look like JSON; control messages are small, so re-encoding is cheap.
      if (message instanceof Uint8Array) relay.fromClient(message);
      else relay.fromClient(typeof message === "string" ? message : JSON.stringify(message));
    },

    close(ws, code, reason) {
      relays.get(ws.raw)?.clientClosed(code, reason);
      relays.delete(ws.raw);
    },
  });
}

function refuse(state: GatewayState, reason: string, message: string, retryAfterS?: number, status = 503): Response {
  state.countRejection(reason, status);
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (retryAfterS !== undefined) headers["retry-after"] = String(retryAfterS);
  return new Response(`${message}\n`, { status, headers });
}

/**
 * Routes this socket's frames straight to its relay. Elysia's ws adapter dispatches each message through
 * `ws.data.message`, which builds a new ElysiaWS (fourteen bound methods) and awaits a parser per frame; the
 * profile of the relay bench put that at about a quarter of the gateway's JavaScript time per frame. The frame
 * arrives as Bun delivers it: binary as a Buffer, text as the exact string (nothing parsed or re-encoded).
 */
function directFrames(raw: object, relay: Relay): void {
  const data = (raw as { data?: { message?: unknown } }).data;
  if (!data || typeof data.message !== "function") return; // another adapter: the route's message() serves
  data.message = (_ws: unknown, message: string | Uint8Array) => relay.fromClient(message);
}
