/**
 * The status page routes: `GET /` (the page, or the login page), `GET /status/events` (its server push), and
 * the login and logout POSTs (login.ts), behind ADMIN_TOKEN. Every HTML answer carries the page's CSP.
 */
import { Elysia } from "elysia";
import { adminRequired, isAdmin } from "../security/admin-guard.ts";
import { pageHeaders } from "../security/page-policy.ts";
import type { GatewayState } from "../state.ts";
import type { StatusHub } from "./hub.ts";
import { loginRoutes } from "./login.ts";
import { LOGIN_PAGE_CSP, loginPageHtml, STATUS_PAGE_CSP, statusPageHtml } from "./page.ts";

const NO_STORE = { "cache-control": "no-store" };

export function statusRoutes(state: GatewayState, hub: StatusHub) {
  const allowed = (request: Request) => isAdmin(request, state.config.adminToken);
  return new Elysia({ name: "status" })
    .get("/", ({ request }) =>
      allowed(request)
        ? new Response(statusPageHtml(hub.snapshot(), { logout: Boolean(state.config.adminToken) }), {
            headers: { ...pageHeaders(STATUS_PAGE_CSP), ...NO_STORE },
          })
        : new Response(loginPageHtml(), {
            status: 401,
            headers: { ...pageHeaders(LOGIN_PAGE_CSP), ...NO_STORE, "www-authenticate": 'Bearer realm="transcribe-edge"' },
          }),
    )
    .get("/status/events", ({ request }) => (allowed(request) ? hub.connect(request) : adminRequired()))
    .use(loginRoutes(state));
}
