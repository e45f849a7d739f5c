/**
 * When a transcriber instance may start again after failed starts: the backoff between attempts, and what counts
 * as a failed start. runtime/instance.ts applies it; the status page and /stats show `nextStartAt` from it.
 */

/** A run of crashes right after healthy starts would otherwise loop inside one acquire(). */
export const MAX_START_ATTEMPTS = 3;

/** A container that dies sooner than this after becoming healthy counts as a failed start (a crash loop backs off). */
export const EARLY_CRASH_MS = 10_000;

/**
 * Delay before the next start after `failures` consecutive failed starts: the first failure is retried at once
 * (a transient engine hiccup), then 1 s, 2 s, 4 s ... up to 30 s, so a bad image or a container that exits at
 * once costs one start attempt per backoff period however many sessions ask for it.
 */
export function startBackoffMs(failures: number): number {
  if (failures <= 1) return 0;
  return Math.min(30_000, 1000 * 2 ** (failures - 2));
}
