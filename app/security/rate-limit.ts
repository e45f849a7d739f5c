/**
 * Per-key (per-IP) token buckets: `limit` requests per `periodMs`, with bursts up to `limit`. Memory stays
 * bounded without a timer: buckets sit in a Map in least-recently-used order, each call drops the oldest
 * ones that have refilled (they hold nothing a fresh bucket would not), and past `maxKeys` the oldest goes.
 */

/** A rate such as RATE_LIMIT_PER_IP=20/s. */
export interface Rate {
  limit: number;
  periodMs: number;
}

const PERIOD_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `20/s`, `600/m`, `1000/h`; throws one line naming `name` otherwise. */
export function parseRate(name: string, raw: string): Rate {
  const match = /^(\d+)\/(s|m|h)$/.exec(raw.trim());
  const limit = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`${name}: expected a rate such as 20/s, 600/m or 1000/h (got '${raw}')`);
  }
  return { limit, periodMs: PERIOD_MS[match[2]!]! };
}

/** The rate as RATE_LIMIT_PER_IP spells it. */
export function formatRate(rate: Rate): string {
  const unit = Object.entries(PERIOD_MS).find(([, ms]) => ms === rate.periodMs)?.[0] ?? `${rate.periodMs}ms`;
  return `${rate.limit}/${unit}`;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export type Take = { ok: true } | { ok: false; retryAfterS: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly tokensPerMs: number;

  constructor(
    readonly rate: Rate,
    private readonly nowMs: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {
    this.tokensPerMs = rate.limit / rate.periodMs;
  }

  /** Takes one token for `key`; when none is left, says how many whole seconds until one is. */
  take(key: string): Take {
    const now = this.nowMs();
    const bucket = this.refilled(key, now);
    this.buckets.delete(key); // re-inserted last: the Map's order is least recently used first
    this.buckets.set(key, bucket);
    this.evict(now, key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.tokensPerMs / 1000)) };
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.rate.limit, atMs: now };
    const tokens = Math.min(this.rate.limit, bucket.tokens + (now - bucket.atMs) * this.tokensPerMs);
    return { tokens, atMs: now };
  }

  private evict(now: number, current: string): void {
    // Two per call outpace one insertion per call, so idle buckets drain while traffic flows.
    for (let i = 0; i < 2; i++) {
      const oldest = this.buckets.entries().next().value;
      if (!oldest || oldest[0] === current) return;
      const [key, bucket] = oldest;
      const full = bucket.tokens + (now - bucket.atMs) * this.tokensPerMs >= this.rate.limit;
      if (!full && this.buckets.size <= this.maxKeys) return;
      this.buckets.delete(key);
    }
  }
}
