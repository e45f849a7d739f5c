/**
 * Where a client's credential travels, and how secrets are compared. Servers and SDKs send
 * `Authorization: Bearer <value>`; browsers cannot set headers on a WebSocket, so they offer the subprotocols
 * `token, <value>` (as Deepgram's browser clients do) and the upgrade must answer `Sec-WebSocket-Protocol: token`.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The subprotocol name that marks the next offered subprotocol as a credential. */
export const AUTH_SUBPROTOCOL = "token";

function offeredSubprotocols(request: Request): string[] {
  const header = request.headers.get("sec-websocket-protocol");
  return header ? header.split(",").map((part) => part.trim()).filter((part) => part !== "") : [];
}

/** The credential a request presents: the Bearer value, else the subprotocol after `token`; undefined if none. */
export function presentedCredential(request: Request): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  const offered = offeredSubprotocols(request);
  const at = offered.indexOf(AUTH_SUBPROTOCOL);
  return at >= 0 ? offered[at + 1] : undefined;
}

/**
 * Headers the 101 must carry: a browser that offered subprotocols fails the connection unless the server
 * selects one of them, so `token` is selected whenever it was offered (never the credential itself).
 */
export function upgradeHeaders(request: Request): Record<string, string> {
  return offeredSubprotocols(request).includes(AUTH_SUBPROTOCOL) ? { "sec-websocket-protocol": AUTH_SUBPROTOCOL } : {};
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
