/**
 * ALLOWED_ORIGINS against cross-site WebSocket hijacking: a browser sends the page's Origin on every upgrade,
 * and WebSockets are not covered by CORS, so without this any site a user visits could open sessions with the
 * user's network position. Clients that send no Origin (servers, SDKs) are not browsers and are not judged here.
 */
import type { Refusal } from "../refusal.ts";

/** Normalizes one ALLOWED_ORIGINS entry to the form browsers send (`https://host[:port]`), or `*`. */
export function normalizeOrigin(entry: string): string {
  if (entry === "*") return entry;
  const url = URL.parse(entry);
  if (!url || url.origin === "null" || url.pathname !== "/" || url.search || url.hash) {
    throw new Error(`expected origins such as https://app.example.com, or * (got '${entry}')`);
  }
  return url.origin;
}

/** Refuses a browser upgrade whose Origin is not listed; `allowed` undefined means any origin. */
export function checkOrigin(allowed: readonly string[] | undefined, request: Request): Refusal | undefined {
  const origin = request.headers.get("origin");
  if (allowed === undefined || origin === null || allowed.includes("*") || allowed.includes(origin.toLowerCase())) return undefined;
  return { status: 403, reason: "origin_not_allowed", message: "origin not allowed (ALLOWED_ORIGINS)" };
}
