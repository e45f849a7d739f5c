/**
 * `POST /v1/token`: a backend holding an API key mints a short-lived token for a browser, so the key itself
 * never reaches a page. Body (optional JSON): `{ "sessionId": "..." }` binds the token to that one session.
 * Answers `{ token, expires_at }` (ISO 8601). Only an API key mints: a token cannot renew itself.
 */
import { Elysia, t } from "elysia";
import { plainText } from "../http.ts";
import { SESSION_ID_PATTERN } from "../session/query.ts";
import type { GatewayState } from "../state.ts";
import { clientIp } from "./admission.ts";
import { presentedCredential } from "./credentials.ts";

const tokenRequest = t.Optional(
  t.Object({
    sessionId: t.Optional(t.String({ pattern: SESSION_ID_PATTERN, error: "sessionId: expected 1-128 characters of A-Z a-z 0-9 . _ : -" })),
  }),
);

/** The token endpoint as an Elysia plugin; 404 while TOKEN_SECRET or API_KEYS is unset. */
export function tokenRoute(state: GatewayState) {
  const { security } = state;
  return new Elysia({ name: "token" }).post(
    "/v1/token",
    ({ request, server, body }) => {
      const signer = security.auth.signer;
      if (!signer || security.auth.apiKeys.size === 0) return plainText(404, "token minting is off: set TOKEN_SECRET and API_KEYS");
      const limited = security.rateLimit(clientIp(server, request));
      if (limited) return plainText(429, limited.message, { "retry-after": String(limited.retryAfterS) });
      const key = presentedCredential(request);
      if (key === undefined || !security.auth.apiKeys.has(key)) {
        return plainText(401, "API key required: Authorization: Token <API key> or Bearer <API key>", {
          "www-authenticate": 'Bearer realm="transcribe-edge"',
        });
      }
      const minted = signer.mint(body?.sessionId);
      return Response.json(
        { token: minted.token, expires_at: new Date(minted.expiresAtMs).toISOString() },
        { headers: { "cache-control": "no-store" } },
      );
    },
    { body: tokenRequest },
  );
}
