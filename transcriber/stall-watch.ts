/**
 * One shared interval per period for every link's stall check, instead of one timer per link: with hundreds of
 * sessions per transcriber, hundreds of timers firing four times a second each cost more than one loop over them.
 */

/** The checks of every period in use, and each period's timer (running only while it has checks). */
const groups = new Map<number, { checks: Set<() => void>; timer: ReturnType<typeof setInterval> }>();

/** Runs `check` every `periodMs` (shared with every other check of that period) until the returned stop is called. */
export function everyPeriod(periodMs: number, check: () => void): () => void {
  let group = groups.get(periodMs);
  if (!group) {
    const checks = new Set<() => void>();
    const timer = setInterval(() => {
      for (const run of checks) run();
    }, periodMs);
    // Watching never keeps the process alive on its own.
    timer.unref?.();
    group = { checks, timer };
    groups.set(periodMs, group);
  }
  group.checks.add(check);
  const owner = group;
  return () => {
    owner.checks.delete(check);
    if (owner.checks.size === 0 && groups.get(periodMs) === owner) {
      clearInterval(owner.timer);
      groups.delete(periodMs);
    }
  };
}
