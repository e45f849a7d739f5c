/**
 * The ADMIN_TOKEN guard shared by `/`, `/status/events`, `/stats` and `/metrics`. Scripts send
 * `Authorization: Bearer <token>`; a browser cannot put a header on an EventSource, so the status page's login
 * form stores the token in a same-site cookie (ADMIN_COOKIE) that the page and its event stream then carry.
 * The token is read from the configuration on every request, so a reload can rotate it.
 */
import { sameSecret } from "../security/credentials.ts";

/** The cookie the status page's login form sets (SameSite=Strict, path /). */
export const ADMIN_COOKIE = "transcribe_edge_admin";

function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** True when `token` is unset, or the request carries it as a Bearer header or in ADMIN_COOKIE. */
export function isAdmin(request: Request, token: string | undefined): boolean {
  if (!token) return true;
  const header = request.headers.get("authorization") ?? "";
  if (header.startsWith("Bearer ") && sameSecret(header.slice(7), token)) return true;
  const cookie = cookieValue(request, ADMIN_COOKIE);
  return cookie !== undefined && sameSecret(cookie, token);
}

/** The plain 401 for API-style endpoints (`/stats`, `/metrics`, the event stream). */
export function adminRequired(): Response {
  return new Response("admin token required: Authorization: Bearer <ADMIN_TOKEN>\n", {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="transcribe-edge"', "cache-control": "no-store" },
  });
}

/** A guard for routes: undefined when allowed, else the 401 to return. `token` is read per request. */
export function adminGuard(token: () => string | undefined): (request: Request) => Response | undefined {
  return (request) => (isAdmin(request, token()) ? undefined : adminRequired());
}
