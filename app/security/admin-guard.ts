/**
 * The ADMIN_TOKEN guard shared by `/`, `/status/events`, `/stats` and `/metrics`. Scripts send
 * `Authorization: Bearer <token>`. Browsers log in on the status page (POST /login, app/status/login.ts) and
 * then carry an HttpOnly session cookie (ADMIN_COOKIE), which an EventSource sends too (it cannot set a
 * header). The cookie holds a signed, expiring value (admin-session.ts), never the token. The token is read
 * from the configuration on every request, so a reload can rotate it (which also ends every login).
 */
import { AdminSessions } from "./admin-session.ts";
import { sameSecret } from "./credentials.ts";

/** The cookie the status page's login sets (HttpOnly, SameSite=Strict, path /). */
export const ADMIN_COOKIE = "transcribe_edge_admin";

/** The sessions every guard checks by default (stateless: any instance with the same clock agrees). */
export const defaultAdminSessions = new AdminSessions();

/** True when `token` is unset, or the request carries it as a Bearer header, or a valid session cookie. */
export function isAdmin(request: Request, token: string | undefined, sessions: AdminSessions = defaultAdminSessions): boolean {
  if (!token) return true;
  const header = request.headers.get("authorization") ?? "";
  if (header.startsWith("Bearer ") && sameSecret(header.slice(7), token)) return true;
  const cookie = new Bun.CookieMap(request.headers.get("cookie") ?? "").get(ADMIN_COOKIE);
  return cookie !== null && sessions.verify(token, cookie).ok;
}

/** The plain 401 for API-style endpoints (`/stats`, `/metrics`, the event stream). */
export function adminRequired(): Response {
  return new Response("admin token required: Authorization: Bearer <ADMIN_TOKEN>\n", {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="transcribe-edge"', "cache-control": "no-store" },
  });
}

/** A guard for routes: undefined when allowed, else the 401 to return. `token` is read per request. */
export function adminGuard(
  token: () => string | undefined,
  sessions: AdminSessions = defaultAdminSessions,
): (request: Request) => Response | undefined {
  return (request) => (isAdmin(request, token(), sessions) ? undefined : adminRequired());
}

/**
 * The Set-Cookie for a session `value` lasting `maxAgeS` (0 clears it): HttpOnly so page script cannot read
 * it, SameSite=Strict so no other site's request carries it, Secure when the request came over https.
 */
export function adminCookie(request: Request, value: string, maxAgeS: number): string {
  const secure = new URL(request.url).protocol === "https:";
  return new Bun.Cookie(ADMIN_COOKIE, value, { path: "/", httpOnly: true, sameSite: "strict", secure, maxAge: maxAgeS }).serialize();
}
