/**
 * Reads every running transcriber's own load report (`load` on its GET /health) once a second, so a session routed
 * to one that says it cannot keep up is refused 503 + Retry-After before the upgrade (app/session/load-refusal.ts)
 * instead of the sessions already there being cut with 1013 once it falls behind. One pass at a time; a probe that
 * does not answer within its timeout leaves the last report to age out.
 */
import type { GatewayState } from "../state.ts";

/** Time between passes; a report lives LOAD_REPORT_MAX_AGE_MS (3 s), so three missed passes void it. */
const LOAD_POLL_MS = 1_000;
const PROBE_TIMEOUT_MS = 500;

/** Starts the polling; returns a function that stops it. The timer does not keep the process alive. */
export function watchTranscriberLoads(state: GatewayState, intervalMs = LOAD_POLL_MS): () => void {
  let pass: Promise<void> | undefined;
  const timer = setInterval(() => {
    pass ??= readLoads(state).finally(() => (pass = undefined));
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}

async function readLoads(state: GatewayState): Promise<void> {
  await Promise.all(
    state.registry.list().map(async (instance) => {
      const endpoint = instance.endpoint;
      if (instance.stateName !== "running" || !endpoint) return state.loads.forget(instance.id);
      try {
        const response = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        if (response.ok) state.loads.note(instance.id, await response.json());
      } catch {
        // No answer: the report ages out; a dead container is the relay's and the driver's to find.
      }
    }),
  );
}
