/**
 * The status page's login session: after a correct ADMIN_TOKEN the browser holds a signed, expiring value in
 * an HttpOnly cookie instead of the token itself, so neither page script nor a stolen cookie reveals the token.
 *
 * The value is a TokenSigner token (`te1.<payload>.<HMAC>`, expiry inside) under a key derived from ADMIN_TOKEN
 * with a purpose label: a gateway restart, or another gateway sharing the token, accepts it; rotating the token
 * (a reload) ends every session at once; and a client token for /v1/listen (TOKEN_SECRET) is never accepted
 * here, nor this value there, because the keys differ.
 */
import { createHmac } from "node:crypto";
import { type TokenCheck, TokenSigner } from "./tokens.ts";

/** How long a login lasts before the page asks for the token again. */
export const ADMIN_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const KEY_PURPOSE = "transcribe-edge admin session v1";

/** The signing key for admin sessions: HMAC-SHA256(ADMIN_TOKEN, purpose), hex; never the token itself. */
export function adminSessionKey(adminToken: string): string {
  return createHmac("sha256", adminToken).update(KEY_PURPOSE).digest("hex");
}

/** Mints and checks admin session values; the clock is injected so expiry is testable. */
export class AdminSessions {
  // The signer for the last token seen: the token is read per request (a reload may rotate it).
  private cached: { adminToken: string; signer: TokenSigner } | undefined;

  constructor(
    readonly ttlMs: number = ADMIN_SESSION_TTL_MS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** A fresh session value for a browser that just gave `adminToken`. */
  mint(adminToken: string): { value: string; expiresAtMs: number } {
    const { token, expiresAtMs } = this.signer(adminToken).mint();
    return { value: token, expiresAtMs };
  }

  /** Whether `value` was minted under `adminToken` and has not expired. */
  verify(adminToken: string, value: string): TokenCheck {
    return this.signer(adminToken).verify(value);
  }

  private signer(adminToken: string): TokenSigner {
    if (this.cached?.adminToken !== adminToken) {
      this.cached = { adminToken, signer: new TokenSigner(adminSessionKey(adminToken), this.ttlMs, this.nowMs) };
    }
    return this.cached.signer;
  }
}
