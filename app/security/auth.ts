/**
 * Client authentication for `/v1/listen`: an API key (API_KEYS) or a signed token (TOKEN_SECRET), presented as
 * a Bearer value or a `token, <value>` subprotocol. With neither configured every client is let in.
 */
import { presentedCredential, SecretSet } from "./credentials.ts";
import type { Refusal } from "../refusal.ts";
import type { TokenSigner } from "./tokens.ts";

export class ClientAuth {
  constructor(
    readonly apiKeys: SecretSet,
    readonly signer: TokenSigner | undefined,
  ) {}

  /** True when any credential is required. */
  get enabled(): boolean {
    return this.apiKeys.size > 0 || this.signer !== undefined;
  }

  /**
   * Why `request` may not open `sessionId`, if so: 401 for a missing, unknown or expired credential, 403 for a
   * token bound to another session. The messages never echo the credential.
   */
  check(request: Request, sessionId: string | undefined): Refusal | undefined {
    if (!this.enabled) return undefined;
    const credential = presentedCredential(request);
    if (credential === undefined) {
      return unauthorized(
        "credential required: Authorization: Token <API key> or Bearer <token>, or subprotocols 'token, <key>' or 'bearer, <token>'",
      );
    }
    if (this.apiKeys.has(credential)) return undefined;
    const checked = this.signer?.verify(credential);
    if (!checked?.ok) return unauthorized(checked?.reason === "expired" ? "token expired" : "invalid credential");
    const bound = checked.claims.sessionId;
    if (bound !== undefined && bound !== sessionId) {
      return { status: 403, reason: "session_mismatch", message: "token is bound to another sessionId" };
    }
    return undefined;
  }
}

function unauthorized(message: string): Refusal {
  return { status: 401, reason: "unauthorized", message };
}
