/**
 * Where a client's credential travels, and how secrets are compared. Servers and SDKs send
 * `Authorization: Token <key>` (Deepgram's scheme for API keys) or `Authorization: Bearer <value>`; browsers
 * cannot set headers on a WebSocket, so they offer the subprotocols `token, <value>` or `bearer, <value>` (as
 * Deepgram's browser SDK does) and the upgrade must answer with the one they named (`Sec-WebSocket-Protocol`).
 * Either scheme carries either credential (an API key or a token): the value decides what it is.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The subprotocol names that mark the next offered subprotocol as a credential. */
export const AUTH_SUBPROTOCOLS = ["token", "bearer"] as const;

/** The authorization schemes a credential may come in, any case (`Token`, `bearer`, ...). */
const AUTHORIZATION = /^(?:Bearer|Token) +(\S+)\s*$/i;

function offeredSubprotocols(request: Request): string[] {
  const header = request.headers.get("sec-websocket-protocol");
  return header
    ? header
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== "")
    : [];
}

/** Where `token` or `bearer` (any case) is among the offered subprotocols; -1 if neither. */
function authSubprotocolAt(offered: string[]): number {
  return offered.findIndex((name) => (AUTH_SUBPROTOCOLS as readonly string[]).includes(name.toLowerCase()));
}

/**
 * The credential a request presents: the `Token`/`Bearer` value, else the subprotocol after `token` or
 * `bearer`; undefined if none.
 */
export function presentedCredential(request: Request): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) return AUTHORIZATION.exec(authorization)?.[1];
  const offered = offeredSubprotocols(request);
  const at = authSubprotocolAt(offered);
  return at >= 0 ? offered[at + 1] : undefined;
}

/**
 * Headers the 101 must carry: a browser that offered subprotocols fails the connection unless the server
 * selects one of them, so `token` or `bearer` is selected, as offered, whenever it was (never the credential).
 */
export function upgradeHeaders(request: Request): Record<string, string> {
  const offered = offeredSubprotocols(request);
  const at = authSubprotocolAt(offered);
  return at >= 0 ? { "sec-websocket-protocol": offered[at]! } : {};
}

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

/** Constant-time equality of two secrets, by digest: neither content nor length shows in the timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/**
 * A set of secrets (API keys, the admin token) that answers membership without leaking them through timing:
 * SHA-256 digests compared with timingSafeEqual, so neither content nor length shows, and every secret is
 * visited (no early exit).
 */
export class SecretSet {
  private readonly digests: Buffer[];

  constructor(secrets: readonly string[]) {
    this.digests = secrets.map(sha256);
  }

  get size(): number {
    return this.digests.length;
  }

  has(given: string): boolean {
    const digest = sha256(given);
    let found = false;
    for (const expected of this.digests) if (timingSafeEqual(digest, expected)) found = true;
    return found;
  }
}
