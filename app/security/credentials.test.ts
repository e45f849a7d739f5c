import { describe, expect, spyOn, test } from "bun:test";
import * as nodeCrypto from "node:crypto";
import { presentedCredential, SecretSet, upgradeHeaders } from "./credentials.ts";

const request = (headers: Record<string, string>) => new Request("http://127.0.0.1/v1/listen", { headers });

describe("presentedCredential", () => {
  test("reads a Bearer header", () => {
    expect(presentedCredential(request({ authorization: "Bearer abc.def" }))).toBe("abc.def");
    expect(presentedCredential(request({ authorization: "Basic abc" }))).toBeUndefined();
  });

  test("reads Deepgram's `Token <key>` header, the scheme in any case", () => {
    expect(presentedCredential(request({ authorization: "Token key-1" }))).toBe("key-1");
    expect(presentedCredential(request({ authorization: "token key-2" }))).toBe("key-2");
    expect(presentedCredential(request({ authorization: "BEARER t-3" }))).toBe("t-3");
    expect(presentedCredential(request({ authorization: "Token" }))).toBeUndefined();
  });

  test("reads the subprotocol after `bearer`, as Deepgram's browser SDK offers an access token", () => {
    expect(presentedCredential(request({ "sec-websocket-protocol": "bearer, tok.en, x-deepgram-session-id, 1234" }))).toBe("tok.en");
  });

  test("reads the subprotocol after `token` when there is no Authorization header", () => {
    expect(presentedCredential(request({ "sec-websocket-protocol": "token, abc.def" }))).toBe("abc.def");
    expect(presentedCredential(request({ "sec-websocket-protocol": "json, token,abc" }))).toBe("abc");
    expect(presentedCredential(request({ "sec-websocket-protocol": "token" }))).toBeUndefined();
    expect(presentedCredential(request({}))).toBeUndefined();
  });
});

describe("upgradeHeaders", () => {
  test("selects `token` when offered, never the credential", () => {
    expect(upgradeHeaders(request({ "sec-websocket-protocol": "token, secret-value" }))).toEqual({ "sec-websocket-protocol": "token" });
    expect(upgradeHeaders(request({ authorization: "Bearer x" }))).toEqual({});
  });

  test("selects `bearer` when that is what was offered", () => {
    expect(upgradeHeaders(request({ "sec-websocket-protocol": "bearer, secret-value, x-deepgram-session-id, 1" }))).toEqual({
      "sec-websocket-protocol": "bearer",
    });
  });
});

describe("SecretSet", () => {
  test("matches exactly one of its secrets", () => {
    const keys = new SecretSet(["key-one-0123456789", "key-two-0123456789"]);
    expect(keys.has("key-two-0123456789")).toBe(true);
    expect(keys.has("key-two-012345678")).toBe(false);
    expect(keys.has("")).toBe(false);
    expect(new SecretSet([]).has("")).toBe(false);
  });

  test("compares with crypto.timingSafeEqual against every secret (no early exit)", () => {
    const keys = new SecretSet(["a".repeat(16), "b".repeat(16), "c".repeat(16)]);
    const spy = spyOn(nodeCrypto, "timingSafeEqual");
    try {
      expect(keys.has("a".repeat(16))).toBe(true);
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });
});
