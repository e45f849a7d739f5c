/** The status page routes: `GET /` (the page) and `GET /status/events` (its server push), behind ADMIN_TOKEN. */
import { Elysia } from "elysia";
import type { GatewayState } from "../state.ts";
import { adminRequired, isAdmin } from "./auth.ts";
import type { StatusHub } from "./hub.ts";
import { loginPageHtml, statusPageHtml } from "./page.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

export function statusRoutes(state: GatewayState, hub: StatusHub) {
  const allowed = (request: Request) => isAdmin(request, state.config.adminToken);
  return new Elysia({ name: "status" })
    .get("/", ({ request }) =>
      allowed(request)
        ? new Response(statusPageHtml(hub.snapshot()), { headers: HTML })
        : new Response(loginPageHtml(), { status: 401, headers: { ...HTML, "www-authenticate": 'Bearer realm="transcribe-edge"' } }),
    )
    .get("/status/events", ({ request }) => (allowed(request) ? hub.connect(request) : adminRequired()));
}
