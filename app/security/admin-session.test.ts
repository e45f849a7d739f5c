import { describe, expect, test } from "bun:test";
import { ADMIN_COOKIE, adminCookie, isAdmin } from "./admin-guard.ts";
import { adminSessionKey, AdminSessions } from "./admin-session.ts";
import { TokenSigner } from "./tokens.ts";

const TOKEN = "admin-token-for-sessions-1234";
const HOUR_MS = 3_600_000;

function clock(startMs = 1_000_000) {
  const c = { nowMs: startMs, now: () => c.nowMs };
  return c;
}

/** A request to the status page carrying `value` as the admin cookie. */
const withCookie = (value: string) => new Request("http://127.0.0.1/", { headers: { cookie: `${ADMIN_COOKIE}=${value}` } });

/** `value` with one character of part `index` (0 prefix, 1 payload, 2 signature) changed. */
function tamper(value: string, index: number): string {
  const parts = value.split(".");
  const part = parts[index]!;
  const at = Math.floor(part.length / 2);
  parts[index] = part.slice(0, at) + (part[at] === "A" ? "B" : "A") + part.slice(at + 1);
  return parts.join(".");
}

describe("AdminSessions", () => {
  test("a session verifies until its TTL passes, then is expired", () => {
    const time = clock();
    const sessions = new AdminSessions(HOUR_MS, time.now);
    const { value, expiresAtMs } = sessions.mint(TOKEN);
    expect(expiresAtMs).toBe(1_000_000 + HOUR_MS);
    time.nowMs += HOUR_MS - 1;
    expect(sessions.verify(TOKEN, value).ok).toBe(true);
    expect(isAdmin(withCookie(value), TOKEN, sessions)).toBe(true);
    time.nowMs += 1;
    expect(sessions.verify(TOKEN, value)).toEqual({ ok: false, reason: "expired" });
    expect(isAdmin(withCookie(value), TOKEN, sessions)).toBe(false);
  });

  test("a tampered payload or signature is refused", () => {
    const sessions = new AdminSessions(HOUR_MS, clock().now);
    const { value } = sessions.mint(TOKEN);
    expect(sessions.verify(TOKEN, tamper(value, 1))).toEqual({ ok: false, reason: "bad_signature" });
    expect(sessions.verify(TOKEN, tamper(value, 2))).toEqual({ ok: false, reason: "bad_signature" });
    // A later expiry written into the payload does not survive the signature check either.
    const [prefix, , signature] = value.split(".");
    const longer = Buffer.from(JSON.stringify({ exp: Number.MAX_SAFE_INTEGER })).toString("base64url");
    expect(sessions.verify(TOKEN, `${prefix}.${longer}.${signature}`).ok).toBe(false);
    expect(isAdmin(withCookie(tamper(value, 2)), TOKEN, sessions)).toBe(false);
  });

  test("a session minted under another ADMIN_TOKEN (a rotated one) is refused", () => {
    const sessions = new AdminSessions(HOUR_MS, clock().now);
    const { value } = sessions.mint("the-previous-admin-token");
    expect(sessions.verify(TOKEN, value)).toEqual({ ok: false, reason: "bad_signature" });
    expect(isAdmin(withCookie(value), TOKEN, sessions)).toBe(false);
    expect(isAdmin(withCookie(value), "the-previous-admin-token", sessions)).toBe(true);
  });

  test("the value and its key are not the token, and neither the token nor a /v1/listen token is a session", () => {
    const sessions = new AdminSessions(HOUR_MS, clock().now);
    const { value } = sessions.mint(TOKEN);
    expect(value).not.toContain(TOKEN);
    expect(Buffer.from(value.split(".")[1]!, "base64url").toString()).not.toContain(TOKEN);
    expect(adminSessionKey(TOKEN)).not.toContain(TOKEN);
    expect(adminSessionKey(TOKEN)).toMatch(/^[0-9a-f]{64}$/);
    expect(isAdmin(withCookie(TOKEN), TOKEN, sessions)).toBe(false);
    // A client token signed with the admin token itself as TOKEN_SECRET: the purpose-derived key tells them apart.
    const listenToken = new TokenSigner(TOKEN, HOUR_MS, clock().now).mint().token;
    expect(sessions.verify(TOKEN, listenToken)).toEqual({ ok: false, reason: "bad_signature" });
  });

  test("two gateways with the same ADMIN_TOKEN accept each other's sessions (a restart keeps the login)", () => {
    const time = clock();
    const { value } = new AdminSessions(HOUR_MS, time.now).mint(TOKEN);
    expect(new AdminSessions(HOUR_MS, time.now).verify(TOKEN, value).ok).toBe(true);
  });

  test("without ADMIN_TOKEN every request is admin; the Bearer header is checked against the token", () => {
    const bearer = (value: string) => new Request("http://127.0.0.1/stats", { headers: { authorization: `Bearer ${value}` } });
    expect(isAdmin(new Request("http://127.0.0.1/"), undefined)).toBe(true);
    expect(isAdmin(bearer(TOKEN), TOKEN)).toBe(true);
    expect(isAdmin(bearer(`${TOKEN}x`), TOKEN)).toBe(false);
    expect(isAdmin(new Request("http://127.0.0.1/"), TOKEN)).toBe(false);
  });

  test("the cookie is HttpOnly and SameSite=Strict always, Secure when the request came over https", () => {
    const http = adminCookie(new Request("http://127.0.0.1:8080/login"), "v", 60);
    const https = adminCookie(new Request("https://status.example.test/login"), "v", 60);
    expect(http).toBe(`${ADMIN_COOKIE}=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict`);
    expect(https).toBe(`${ADMIN_COOKIE}=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Strict`);
  });
});
