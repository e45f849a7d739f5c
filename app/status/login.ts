/**
 * The status page's login and logout, both plain HTML form POSTs (the login page runs no script):
 * - `POST /login` with `token=<ADMIN_TOKEN>` (form-encoded): right token, a 303 to `/` that sets the session
 *   cookie (admin-guard.ts adminCookie); wrong token, the login page again with 401 and `#login-error`.
 * - `POST /logout`: a 303 to `/` that clears the cookie.
 * Both refuse a request the browser marks as coming from another site (`Sec-Fetch-Site`), so no page
 * elsewhere can log this browser in or out; login attempts count against RATE_LIMIT_PER_IP like /v1/token.
 */
import { Elysia } from "elysia";
import { plainText } from "../http.ts";
import { clientIp } from "../security/admission.ts";
import { adminCookie, defaultAdminSessions } from "../security/admin-guard.ts";
import type { AdminSessions } from "../security/admin-session.ts";
import { sameSecret } from "../security/credentials.ts";
import { pageHeaders } from "../security/page-policy.ts";
import type { GatewayState } from "../state.ts";
import { LOGIN_PAGE_CSP, loginPageHtml } from "./page.ts";

/** Longest token a login form may carry; ADMIN_TOKEN values are far shorter. */
const MAX_TOKEN_CHARS = 4096;

/** A 303 to the status page, with `cookie` set when given. */
function toStatusPage(cookie?: string): Response {
  const headers: Record<string, string> = { location: "/", "cache-control": "no-store" };
  if (cookie) headers["set-cookie"] = cookie;
  return new Response(null, { status: 303, headers });
}

/** 403 when the browser says the form was posted from another site; undefined otherwise (scripts send none). */
function crossSiteRefusal(request: Request): Response | undefined {
  const site = request.headers.get("sec-fetch-site");
  if (site === null || site === "same-origin" || site === "none") return undefined;
  return plainText(403, `refused: a ${site} request may not log in or out (Sec-Fetch-Site)`);
}

function formToken(body: unknown): string | undefined {
  const token = body !== null && typeof body === "object" ? (body as Record<string, unknown>).token : undefined;
  return typeof token === "string" ? token : undefined;
}

/** The login and logout routes as an Elysia plugin; ADMIN_TOKEN is read per request. */
export function loginRoutes(state: GatewayState, sessions: AdminSessions = defaultAdminSessions) {
  return new Elysia({ name: "status-login" })
    .post("/login", ({ request, server, body }) => {
      const adminToken = state.config.adminToken;
      // Without ADMIN_TOKEN the page is open: nothing to log in to.
      if (!adminToken) return toStatusPage();
      const refused = crossSiteRefusal(request);
      if (refused) return refused;
      const limited = state.security.rateLimit(clientIp(server, request));
      if (limited) return plainText(429, limited.message, { "retry-after": String(limited.retryAfterS) });
      const given = formToken(body);
      if (given === undefined || given.length > MAX_TOKEN_CHARS) {
        return plainText(400, `login: expected a form field "token" of 1-${MAX_TOKEN_CHARS} characters`);
      }
      if (!sameSecret(given, adminToken)) {
        state.log.warn({ ip: clientIp(server, request) }, "admin login refused: wrong ADMIN_TOKEN");
        return new Response(loginPageHtml("wrong admin token"), {
          status: 401,
          headers: { ...pageHeaders(LOGIN_PAGE_CSP), "cache-control": "no-store" },
        });
      }
      const { value } = sessions.mint(adminToken);
      return toStatusPage(adminCookie(request, value, Math.floor(sessions.ttlMs / 1000)));
    })
    .post("/logout", ({ request }) => crossSiteRefusal(request) ?? toStatusPage(adminCookie(request, "", 0)));
}
