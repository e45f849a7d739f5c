/**
 * `POST /v1/auth/grant`, Deepgram's token route shape: a backend holding an API key (`Authorization: Token
 * <key>`, or Bearer) gets `{ access_token, expires_in }` for a browser, which then connects with
 * `bearer, <token>`. Body (optional JSON): `{ "ttl_seconds": N }`, at most TOKEN_TTL. The tokens are the
 * gateway's own (the same as `POST /v1/token` mints), unbound to a session.
 */
import { Elysia, t } from "elysia";
import { clientIp } from "../security/admission.ts";
import { presentedCredential } from "../security/credentials.ts";
import type { GatewayState } from "../state.ts";
import { refusalResponse } from "./refusal.ts";

const grantRequest = t.Optional(
  t.Object({
    ttl_seconds: t.Optional(t.Integer({ minimum: 1, error: "ttl_seconds: expected a whole number of seconds, at least 1" })),
  }),
);

/** The grant route as an Elysia plugin; 404 while TOKEN_SECRET or API_KEYS is unset. */
export function grantRoute(state: GatewayState) {
  const { security } = state;
  return new Elysia({ name: "deepgram-grant" }).post(
    "/v1/auth/grant",
    ({ request, server, body }) => {
      const signer = security.auth.signer;
      if (!signer || security.auth.apiKeys.size === 0) return refusalResponse(404, "token minting is off: set TOKEN_SECRET and API_KEYS");
      const limited = security.rateLimit(clientIp(server, request));
      if (limited) return refusalResponse(429, limited.message, { "retry-after": String(limited.retryAfterS) });
      const key = presentedCredential(request);
      if (key === undefined || !security.auth.apiKeys.has(key)) {
        return refusalResponse(401, "API key required: Authorization: Token <API key>", {
          "www-authenticate": 'Token realm="transcribe-edge"',
        });
      }
      const maxS = Math.floor(signer.ttlMs / 1000);
      const ttlS = body?.ttl_seconds ?? maxS;
      if (ttlS > maxS) return refusalResponse(400, `ttl_seconds: expected at most ${maxS} (TOKEN_TTL), got ${ttlS}`);
      const minted = signer.mint(undefined, ttlS * 1000);
      return Response.json({ access_token: minted.token, expires_in: ttlS }, { headers: { "cache-control": "no-store" } });
    },
    { body: grantRequest },
  );
}
