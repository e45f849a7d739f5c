import { describe, expect, test } from "bun:test";
import { defaultLocalMaxSessions } from "./capacity.ts";
import { RecognizerBusyError, RecognizerPool } from "./pool.ts";
import type { Recognizer } from "./recognizer.ts";

const fakeRecognizer = (): Recognizer & { freed: boolean } => ({
  freed: false,
  startUtterance() {},
  process() {},
  inSpeech: false,
  hypothesis: () => "",
  endUtterance() {},
  free() {
    this.freed = true;
  },
});

describe("RecognizerPool", () => {
  test("reuses a returned recognizer instead of loading another, and refuses past maxSessions", () => {
    let created = 0;
    const pool = new RecognizerPool(() => (created++, fakeRecognizer()), 2);
    const a = pool.acquire();
    pool.release(a);
    expect(pool.acquire()).toBe(a);
    pool.acquire();
    expect(created).toBe(2);
    expect(() => pool.acquire()).toThrow(RecognizerBusyError);
    expect(pool.inUse).toBe(2);
  });

  test("close frees the idle recognizers", () => {
    const made: Array<ReturnType<typeof fakeRecognizer>> = [];
    const pool = new RecognizerPool(() => made[made.push(fakeRecognizer()) - 1]!, 2);
    pool.release(pool.acquire());
    pool.close();
    expect(made.map((r) => r.freed)).toEqual([true]);
  });
});

describe("defaultLocalMaxSessions", () => {
  test("one session per container with any caps: a real-time session takes most of the one core its thread can use", () => {
    expect(defaultLocalMaxSessions(512 * 1024 ** 2, 1)).toBe(1);
    expect(defaultLocalMaxSessions(300 * 1024 ** 2, 1)).toBe(1);
    expect(defaultLocalMaxSessions(128 * 1024 ** 2, 1)).toBe(1);
    expect(defaultLocalMaxSessions(4 * 1024 ** 3, 4)).toBe(1);
    expect(defaultLocalMaxSessions(512 * 1024 ** 2, 0.5)).toBe(1);
  });
});
