import { describe, expect, spyOn, test } from "bun:test";
import * as nodeCrypto from "node:crypto";
import { TokenSigner } from "./tokens.ts";

const SECRET = "s".repeat(32);

function clock(startMs = 1_000_000) {
  const c = { nowMs: startMs, now: () => c.nowMs };
  return c;
}

describe("TokenSigner", () => {
  test("a minted token verifies until its TTL passes, then is expired", () => {
    const time = clock();
    const signer = new TokenSigner(SECRET, 300_000, time.now);
    const { token, expiresAtMs } = signer.mint();
    expect(expiresAtMs).toBe(1_300_000);
    time.nowMs += 299_999;
    expect(signer.verify(token)).toEqual({ ok: true, claims: { expiresAtMs: 1_300_000, sessionId: undefined } });
    time.nowMs += 1;
    expect(signer.verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  test("a token bound to a session carries its sessionId", () => {
    const signer = new TokenSigner(SECRET, 60_000, clock().now);
    const check = signer.verify(signer.mint("room-7:alice").token);
    expect(check.ok && check.claims.sessionId).toBe("room-7:alice");
  });

  test("a tampered payload, a tampered signature or another secret is a bad signature", () => {
    const time = clock();
    const signer = new TokenSigner(SECRET, 60_000, time.now);
    const [prefix, payload, signature] = signer.mint("a").token.split(".") as [string, string, string];
    // Rebinding the token to another session (or extending it) needs the secret.
    const forged = Buffer.from(JSON.stringify({ exp: 9e15, sid: "b" })).toString("base64url");
    expect(signer.verify(`${prefix}.${forged}.${signature}`)).toEqual({ ok: false, reason: "bad_signature" });
    const flipped = Buffer.from(signature, "base64url");
    flipped[0]! ^= 1;
    expect(signer.verify(`${prefix}.${payload}.${flipped.toString("base64url")}`)).toEqual({ ok: false, reason: "bad_signature" });
    const other = new TokenSigner("t".repeat(32), 60_000, time.now);
    expect(other.verify(`${prefix}.${payload}.${signature}`)).toEqual({ ok: false, reason: "bad_signature" });
  });

  test("anything not shaped like a token is malformed", () => {
    const signer = new TokenSigner(SECRET, 60_000, clock().now);
    for (const text of ["", "abc", "te1.x", "te2.a.b", "te1.a.b.c", `te1.e30.${"A".repeat(10)}`]) {
      expect(signer.verify(text)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  test("the signature is compared with crypto.timingSafeEqual", () => {
    const signer = new TokenSigner(SECRET, 60_000, clock().now);
    const { token } = signer.mint();
    const spy = spyOn(nodeCrypto, "timingSafeEqual");
    try {
      signer.verify(token);
      signer.verify(`${token.slice(0, -2)}AA`);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});
