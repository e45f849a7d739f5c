import { describe, expect, test } from "bun:test";
import { ConnectionCaps } from "./connection-caps.ts";

describe("ConnectionCaps", () => {
  test("refuses the connection past the limit with 429 and Retry-After, per address", () => {
    const caps = new ConnectionCaps(2);
    caps.acquire("a");
    expect(caps.check("a")).toBeUndefined();
    caps.acquire("a");
    expect(caps.check("a")).toMatchObject({ status: 429, reason: "ip_connection_limit", retryAfterS: 5 });
    expect(caps.check("b")).toBeUndefined();
  });

  test("a release counts once however often it is called, and an address at zero is forgotten", () => {
    const caps = new ConnectionCaps(1);
    const release = caps.acquire("a");
    const other = caps.acquire("b");
    release();
    release();
    expect(caps.count("a")).toBe(0);
    expect(caps.count("b")).toBe(1);
    expect(caps.size).toBe(1);
    other();
    expect(caps.total).toBe(0);
    expect(caps.size).toBe(0);
  });

  test("without a limit it counts but never refuses", () => {
    const caps = new ConnectionCaps(undefined);
    for (let i = 0; i < 100; i++) caps.acquire("a");
    expect(caps.check("a")).toBeUndefined();
    expect(caps.count("a")).toBe(100);
  });
});
