/** Operator endpoints: /healthz, /readyz and /stats (the status page is app/status/, /metrics app/metrics.ts). */
import { Elysia } from "elysia";
import { statsDocument } from "./stats.ts";
import type { GatewayState } from "./state.ts";
import { adminGuard } from "./security/admin-guard.ts";

/** A one-line plain-text answer (refusals and errors name what is wrong in a line a client can log). */
export function plainText(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}

export function httpRoutes(state: GatewayState) {
  // Read per request, so a reload can rotate ADMIN_TOKEN; the status page's cookie is accepted too.
  const guard = adminGuard(() => state.config.adminToken);

  return new Elysia({ name: "http" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      const refusal = state.readiness();
      if (!refusal) return { ready: true };
      set.status = 503;
      set.headers["retry-after"] = String(refusal.retryAfterS ?? 5);
      return { ready: false, reason: refusal.reason, message: refusal.message };
    })
    .get("/stats", ({ request }) => guard(request) ?? Response.json(statsDocument(state)));
}
