/**
 * The per-client admission checks for `/v1/listen`, as one ordered list: the first refusal wins. Rate limiting
 * comes first so every attempt counts (guessing credentials is throttled too), then the origin, the
 * credential, and last the per-IP connection cap. A new check is one more entry in `checks`.
 */
import type { GatewayConfig } from "../config.ts";
import { ClientAuth } from "./auth.ts";
import { ConnectionCaps } from "./connection-caps.ts";
import { SecretSet } from "./credentials.ts";
import { checkOrigin } from "./origins.ts";
import { formatRate, RateLimiter } from "./rate-limit.ts";
import type { Refusal } from "../refusal.ts";
import { TokenSigner } from "./tokens.ts";

/** What the checks look at. */
export interface ClientRequest {
  request: Request;
  /** The peer address as the socket reports it. */
  ip: string;
  sessionId: string | undefined;
}

export type AdmissionCheck = (client: ClientRequest) => Refusal | undefined;

export type SecurityConfig = Pick<
  GatewayConfig,
  "apiKeys" | "tokenSecret" | "tokenTtlMs" | "allowedOrigins" | "maxConnectionsPerIp" | "rateLimitPerIp"
>;

export class ClientSecurity {
  readonly auth: ClientAuth;
  readonly rateLimiter: RateLimiter | undefined;
  readonly connections: ConnectionCaps;
  readonly checks: AdmissionCheck[];

  /** `nowMs` drives token expiry and the rate limiter. */
  constructor(config: SecurityConfig, nowMs: () => number = Date.now) {
    const signer = config.tokenSecret ? new TokenSigner(config.tokenSecret, config.tokenTtlMs, nowMs) : undefined;
    this.auth = new ClientAuth(new SecretSet(config.apiKeys), signer);
    this.rateLimiter = config.rateLimitPerIp ? new RateLimiter(config.rateLimitPerIp, nowMs) : undefined;
    this.connections = new ConnectionCaps(config.maxConnectionsPerIp);
    this.checks = [
      ({ ip }) => this.rateLimit(ip),
      ({ request }) => checkOrigin(config.allowedOrigins, request),
      ({ request, sessionId }) => this.auth.check(request, sessionId),
      ({ ip }) => this.connections.check(ip),
    ];
  }

  /** The first refusal of the checks, in order; undefined when the client may proceed. */
  check(client: ClientRequest): Refusal | undefined {
    for (const check of this.checks) {
      const refusal = check(client);
      if (refusal) return refusal;
    }
    return undefined;
  }

  /** 429 with Retry-After when `ip` has used up RATE_LIMIT_PER_IP. */
  rateLimit(ip: string): Refusal | undefined {
    const taken = this.rateLimiter?.take(ip);
    if (!taken || taken.ok) return undefined;
    const rate = formatRate(this.rateLimiter!.rate);
    return {
      status: 429,
      reason: "rate_limited",
      message: `rate limit exceeded (RATE_LIMIT_PER_IP=${rate})`,
      retryAfterS: taken.retryAfterS,
    };
  }
}

/** The peer address of `request` (IPv4-mapped IPv6 shown as IPv4, so one client has one key). */
export function clientIp(server: { requestIP(request: Request): { address: string } | null } | null | undefined, request: Request): string {
  const address = server?.requestIP(request)?.address ?? "unknown";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
