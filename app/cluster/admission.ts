/**
 * A cap that must hold for the whole cluster (autoscale's MAX_CONNECTIONS_PER_CONTAINER over a shared store) is
 * confirmed before the upgrade: the route's pick is counted atomically in Redis within the cap, a full pick is
 * retried with the next candidate, and a session with none, or while Redis is away, is refused with HTTP 503
 * and Retry-After, never after its socket opened.
 */
import type { Refusal } from "../refusal.ts";
import { StoreUnavailableError } from "../routing/store.ts";
import type { GatewayState } from "../state.ts";

/** Candidates tried before the session is refused as at capacity. */
const ATTEMPTS = 4;

/**
 * Undefined when no cluster-wide admission applies (the usual, synchronous path); else resolves with the
 * admitted instance (its session counted: route() picks it again as the session's holder) or a refusal.
 */
export function clusterAdmission(
  state: GatewayState,
  sessionId: string | undefined,
): Promise<Refusal | { instanceId: string }> | undefined {
  const selector = state.selector;
  if (!state.cluster || !selector.admit || sessionId === undefined) return undefined;
  return (async () => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const decision = selector.route({ sessionId });
      if (!decision.ok) {
        const { ok: _, ...refusal } = decision;
        return refusal;
      }
      try {
        if (await selector.admit!(sessionId, decision.instanceId)) return { instanceId: decision.instanceId };
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        const message = "the cluster's routing store (Redis) is unavailable: sessions cannot be placed within the cluster's caps now";
        return { status: 503, reason: "store_unavailable", message, retryAfterS: error.retryAfterS };
      }
    }
    const max = state.config.maxConnectionsPerContainer;
    return {
      status: 503,
      reason: "capacity",
      message: `at capacity: every instance holds MAX_CONNECTIONS_PER_CONTAINER=${max} sessions in the cluster; retry later`,
      retryAfterS: 5,
    };
  })();
}
