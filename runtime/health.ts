/** Health polling shared by the drivers: `GET /health` until 200, the process dies, or time runs out. */

export interface WaitForHealthOptions {
  /** Give up after this long; the start is then reported as failed. */
  timeoutMs?: number;
  /** Pause between attempts. Small, because a refused connection on loopback costs well under a millisecond. */
  intervalMs?: number;
  /** Resolves (with a reason) if the process dies first: we stop polling a corpse at once. */
  died?: Promise<string>;
}

/**
 * Polls `url` until it answers 200. Rejects with a clear message on timeout or when `died` resolves first.
 * Returns the milliseconds it waited.
 */
export async function waitForHealth(url: string, options: WaitForHealthOptions = {}): Promise<number> {
  const { timeoutMs = 15_000, intervalMs = 10, died } = options;
  const startedAt = performance.now();
  let deathReason: string | undefined;
  died?.then((reason) => (deathReason = reason));
  let lastProblem = "no answer yet";
  while (performance.now() - startedAt < timeoutMs) {
    if (deathReason !== undefined) throw new Error(`transcriber exited before it was healthy: ${deathReason}`);
    try {
      // A short per-request timeout: a half-started server must not swallow the whole budget in one attempt.
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - startedAt;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await Bun.sleep(intervalMs);
  }
  if (deathReason !== undefined) throw new Error(`transcriber exited before it was healthy: ${deathReason}`);
  throw new Error(`transcriber not healthy at ${url} after ${timeoutMs} ms (last: ${lastProblem})`);
}

/** One `GET /health` with a short deadline: true when it answers 200. */
export async function isHealthy(url: string, timeoutMs = 500): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
