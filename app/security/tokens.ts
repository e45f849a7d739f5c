/**
 * Short-lived client tokens: `te1.<payload>.<signature>`, the payload base64url JSON `{ exp, sid? }` (expiry in
 * epoch milliseconds, optional sessionId binding), the signature base64url HMAC-SHA256 of `te1.<payload>` under
 * TOKEN_SECRET. Stateless: any gateway sharing the secret verifies them, and they expire on their own.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = "te1";
const SIGNATURE_BYTES = 32;

/** What a valid token says. */
export interface TokenClaims {
  expiresAtMs: number;
  /** The only sessionId the token may open, when bound. */
  sessionId?: string;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

/** Mints and verifies tokens; the clock is injected so expiry is testable. */
export class TokenSigner {
  constructor(
    private readonly secret: string,
    readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** A token valid for `ttlMs` (default: the signer's) from now, bound to `sessionId` when given. */
  mint(sessionId?: string, ttlMs = this.ttlMs): { token: string; expiresAtMs: number } {
    const expiresAtMs = this.nowMs() + ttlMs;
    const payload = Buffer.from(JSON.stringify(sessionId === undefined ? { exp: expiresAtMs } : { exp: expiresAtMs, sid: sessionId }));
    const signed = `${PREFIX}.${payload.toString("base64url")}`;
    return { token: `${signed}.${this.sign(signed).toString("base64url")}`, expiresAtMs };
  }

  /** Checks the signature (constant time) before reading the payload, then the expiry. */
  verify(token: string): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: "malformed" };
    const given = Buffer.from(parts[2]!, "base64url");
    // The length of a signature is public (always 32 bytes), so checking it first leaks nothing.
    if (given.length !== SIGNATURE_BYTES) return { ok: false, reason: "malformed" };
    if (!timingSafeEqual(given, this.sign(`${parts[0]}.${parts[1]}`))) return { ok: false, reason: "bad_signature" };
    let payload: { exp?: unknown; sid?: unknown };
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof payload.exp !== "number" || (payload.sid !== undefined && typeof payload.sid !== "string")) {
      return { ok: false, reason: "malformed" };
    }
    if (this.nowMs() >= payload.exp) return { ok: false, reason: "expired" };
    return { ok: true, claims: { expiresAtMs: payload.exp, sessionId: payload.sid as string | undefined } };
  }

  private sign(text: string): Buffer {
    return createHmac("sha256", this.secret).update(text).digest();
  }
}
