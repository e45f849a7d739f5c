import { describe, expect, test } from "bun:test";
import { formatRate, parseRate, RateLimiter } from "./rate-limit.ts";

function clock() {
  const c = { nowMs: 0, now: () => c.nowMs };
  return c;
}

describe("RateLimiter", () => {
  test("allows a burst of `limit`, then refuses with the seconds until the next token", () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: 3, periodMs: 60_000 }, time.now);
    expect([1, 2, 3].map(() => limiter.take("10.0.0.1").ok)).toEqual([true, true, true]);
    expect(limiter.take("10.0.0.1")).toEqual({ ok: false, retryAfterS: 20 });
    time.nowMs += 19_000;
    expect(limiter.take("10.0.0.1")).toEqual({ ok: false, retryAfterS: 1 });
    time.nowMs += 1_000;
    expect(limiter.take("10.0.0.1").ok).toBe(true);
  });

  test("each key has its own bucket", () => {
    const limiter = new RateLimiter({ limit: 1, periodMs: 1000 }, clock().now);
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
    expect(limiter.take("b").ok).toBe(true);
  });

  test("buckets that refilled are evicted as traffic flows, so idle keys cost no memory", () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: 10, periodMs: 1000 }, time.now);
    for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(1000);
    time.nowMs += 1000; // every bucket is full again
    for (let i = 0; i < 1000; i++) limiter.take("192.168.0.1");
    expect(limiter.size).toBe(1);
  });

  test("never holds more than maxKeys buckets", () => {
    const limiter = new RateLimiter({ limit: 10, periodMs: 3_600_000 }, clock().now, 100);
    for (let i = 0; i < 10_000; i++) limiter.take(`key-${i}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});

describe("parseRate", () => {
  test("reads N/s, N/m, N/h and formats back", () => {
    expect(parseRate("X", "20/s")).toEqual({ limit: 20, periodMs: 1000 });
    expect(parseRate("X", "600/m")).toEqual({ limit: 600, periodMs: 60_000 });
    expect(formatRate(parseRate("X", "1000/h"))).toBe("1000/h");
  });

  test("rejects anything else with one line naming the variable", () => {
    for (const raw of ["20", "0/s", "20/d", "-1/s", "1.5/s", "a/s"]) {
      expect(() => parseRate("RATE_LIMIT_PER_IP", raw)).toThrow(
        `RATE_LIMIT_PER_IP: expected a rate such as 20/s, 600/m or 1000/h (got '${raw}')`,
      );
    }
  });
});
