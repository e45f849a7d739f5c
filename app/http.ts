/** Operator endpoints: /healthz, /readyz, /stats and the status page at `/`. */
import { Elysia } from "elysia";
import { timingSafeEqual } from "node:crypto";
import { statusPage } from "./status-page.ts";
import { statsDocument } from "./stats.ts";
import type { GatewayState } from "./state.ts";

/** True when the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasBearer(request: Request, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function httpRoutes(state: GatewayState) {
  const token = state.config.adminToken;
  const guard = (request: Request) =>
    token && !hasBearer(request, token)
      ? new Response("admin token required: Authorization: Bearer <ADMIN_TOKEN>\n", {
          status: 401,
          headers: { "www-authenticate": 'Bearer realm="transcribe-edge"' },
        })
      : undefined;

  return new Elysia({ name: "http" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      const refusal = state.admission();
      if (!refusal) return { ready: true };
      set.status = 503;
      set.headers["retry-after"] = String(refusal.retryAfterS ?? 5);
      return { ready: false, reason: refusal.reason, message: refusal.message };
    })
    .get("/stats", ({ request }) => guard(request) ?? Response.json(statsDocument(state)))
    .get("/", ({ request }) =>
      guard(request) ??
      new Response(statusPage(statsDocument(state)), { headers: { "content-type": "text/html; charset=utf-8" } }),
    );
}
