/** Test helper: wait until a condition on recorded messages holds, re-checking whenever a new one arrives. */

/** Resolves waiters' checks when poked: message handlers call `notify()` after recording something. */
export class Notifier {
  private readonly checks = new Set<() => void>();

  /** `received` describes what has been recorded so far, for the timeout message. */
  constructor(private readonly received: () => string) {}

  /** Re-runs every pending check. */
  notify(): void {
    for (const check of [...this.checks]) check();
  }

  /**
   * Resolves with the first result of `find` that is neither `undefined` nor `false`, checking now, after
   * every `notify()` and every 200 ms; rejects after `timeoutMs` naming `what` and what was received.
   */
  until<T>(find: () => T, timeoutMs: number, what: string): Promise<Exclude<T, undefined | false>> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.checks.delete(check);
      };
      const check = () => {
        const found = find();
        if (found === undefined || found === false) return;
        cleanup();
        resolve(found as Exclude<T, undefined | false>);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.received()}`));
      }, timeoutMs);
      const poll = setInterval(check, 200);
      this.checks.add(check);
      check();
    });
  }
}

/**
 * Polls `probe` every `intervalMs` until it yields something other than `undefined` or `false` (a promise is
 * awaited), and resolves with that; rejects after `timeoutMs` naming `what`. For state no event announces.
 */
export async function pollUntil<T>(
  probe: () => T | Promise<T>,
  what = "condition",
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}
