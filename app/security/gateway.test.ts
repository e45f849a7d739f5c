/**
 * Client authentication, origins, per-IP caps and rate limits on a real gateway (process driver, echo backend):
 * the HTTP answers before the upgrade, read from raw sockets, and sessions opened by real WebSocket clients.
 */
import { afterEach, describe, expect, jest, test } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { rawUpgrade } from "../../test/raw-upgrade.ts";
import { sessionDeps } from "../session/listen.ts";
import { parseListenQuery } from "../session/query.ts";
import { Session } from "../session/session.ts";
import { TokenSigner } from "./tokens.ts";

const KEY = "test-key-0123456789abcdef";
const SECRET = "token-secret-0123456789abcdef-0123456789";
const ADMIN = "admin-token-0123456789";
const BASE = { ROUTING_MODE: "shared", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" };

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

async function start(env: Record<string, string>): Promise<TestGateway> {
  gw = await startTestGateway({ ...BASE, ...env });
  return gw;
}

/** Opens a session the way a server (`headers`) or a browser (`protocols`) would, and waits for its Metadata. */
async function openSession(g: TestGateway, sessionId: string, init: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  const url = `${g.listenUrl}?sessionId=${sessionId}&encoding=opus`;
  const client = new TestClient(new WebSocket(url, init as unknown as string[]));
  await client.opened;
  await client.next("Metadata");
  return client;
}

async function mint(g: TestGateway, key: string | undefined, body?: object): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(`${g.httpUrl}/v1/token`, { method: "POST", headers, body: body ? JSON.stringify(body) : undefined });
}

describe("client authentication", () => {
  test("with API_KEYS, no credential or an unknown one is 401 before the upgrade; a key opens a session", async () => {
    const g = await start({ API_KEYS: `other-key-0123456789,${KEY}` });
    const url = `${g.listenUrl}?sessionId=s1`;
    const missing = await rawUpgrade(url);
    expect(missing.status).toBe(401);
    expect(missing.body.trim().split("\n")).toHaveLength(1);
    expect((await rawUpgrade(url, { Authorization: "Bearer wrong-key-0123456789" })).status).toBe(401);
    expect((await rawUpgrade(url, { "Sec-WebSocket-Protocol": "token, wrong-key-0123456789" })).status).toBe(401);
    const client = await openSession(g, "s1", { headers: { Authorization: `Bearer ${KEY}` } });
    client.ws.close();
    expect(g.gateway.state.rejections.unauthorized).toBe(3);
  });

  test("a browser's `token, <key>` subprotocols are accepted and the 101 selects `token`", async () => {
    const g = await start({ API_KEYS: KEY });
    const answer = await rawUpgrade(`${g.listenUrl}?sessionId=s2`, { "Sec-WebSocket-Protocol": `token, ${KEY}` });
    answer.close();
    expect(answer.status).toBe(101);
    expect(answer.headers["sec-websocket-protocol"]).toBe("token");
    const client = await openSession(g, "s2", { protocols: ["token", KEY] });
    expect(client.ws.protocol).toBe("token");
    client.ws.close();
  });

  test("POST /v1/token mints only for an API key; the token opens sessions until it expires", async () => {
    const g = await start({ API_KEYS: KEY, TOKEN_SECRET: SECRET, TOKEN_TTL: "2m" });
    expect((await mint(g, undefined)).status).toBe(401);
    expect((await mint(g, "wrong-key-0123456789")).status).toBe(401);
    const before = Date.now();
    const minted = await mint(g, KEY);
    expect(minted.status).toBe(200);
    const { token, expires_at } = (await minted.json()) as { token: string; expires_at: string };
    expect(Date.parse(expires_at) - before).toBeGreaterThan(119_000);
    expect(Date.parse(expires_at) - before).toBeLessThanOrEqual(121_000);
    // A token cannot mint another: only keys can.
    expect((await mint(g, token)).status).toBe(401);

    (await openSession(g, "any-session", { protocols: ["token", token] })).ws.close();
    const expired = new TokenSigner(SECRET, 1000, () => Date.now() - 5000).mint().token;
    const refused = await rawUpgrade(`${g.listenUrl}?sessionId=x`, { Authorization: `Bearer ${expired}` });
    expect([refused.status, refused.body]).toEqual([401, "token expired\n"]);
    const forged = new TokenSigner("another-secret-0123456789-0123456789", 60_000).mint().token;
    expect((await rawUpgrade(`${g.listenUrl}?sessionId=x`, { Authorization: `Bearer ${forged}` })).status).toBe(401);
  });

  test("a token bound to a sessionId opens that session only (403 for another)", async () => {
    const g = await start({ API_KEYS: KEY, TOKEN_SECRET: SECRET });
    const { token } = (await (await mint(g, KEY, { sessionId: "room-1:alice" })).json()) as { token: string };
    const other = await rawUpgrade(`${g.listenUrl}?sessionId=room-1:bob`, { "Sec-WebSocket-Protocol": `token, ${token}` });
    expect([other.status, other.body]).toEqual([403, "token is bound to another sessionId\n"]);
    expect((await rawUpgrade(g.listenUrl, { Authorization: `Bearer ${token}` })).status).toBe(403);
    (await openSession(g, "room-1:alice", { headers: { Authorization: `Bearer ${token}` } })).ws.close();
    expect((await mint(g, KEY, { sessionId: "bad id/../x" })).status).toBe(400);
  });

  test("with no API_KEYS and no TOKEN_SECRET the gateway is open and /v1/token is off", async () => {
    const g = await start({});
    (await openSession(g, "open-1")).ws.close();
    expect((await mint(g, KEY)).status).toBe(404);
  });
});

describe("origins", () => {
  test("a browser upgrade from an origin not in ALLOWED_ORIGINS gets 403; listed or absent origins pass", async () => {
    const g = await start({ ALLOWED_ORIGINS: "https://meet.example.com, http://localhost:3000" });
    const url = `${g.listenUrl}?sessionId=o1`;
    const evil = await rawUpgrade(url, { Origin: "https://evil.example" });
    expect([evil.status, evil.body]).toEqual([403, "origin not allowed (ALLOWED_ORIGINS)\n"]);
    expect((await rawUpgrade(url, { Origin: "null" })).status).toBe(403);
    const origins: Array<Record<string, string>> = [{ Origin: "https://meet.example.com" }, { Origin: "http://localhost:3000" }, {}];
    for (const headers of origins) {
      const ok = await rawUpgrade(url, headers);
      ok.close();
      expect(ok.status).toBe(101);
    }
  });
});

describe("per-IP limits", () => {
  test("past RATE_LIMIT_PER_IP an upgrade gets 429 with Retry-After", async () => {
    const g = await start({ RATE_LIMIT_PER_IP: "3/m" });
    for (let i = 0; i < 3; i++) {
      const ok = await rawUpgrade(`${g.listenUrl}?sessionId=r${i}`);
      ok.close();
      expect(ok.status).toBe(101);
    }
    const limited = await rawUpgrade(`${g.listenUrl}?sessionId=r3`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(20);
    expect(g.gateway.state.rejections.rate_limited).toBe(1);
  });

  test("past MAX_CONNECTIONS_PER_IP an upgrade gets 429; the count returns to zero when sessions end", async () => {
    const g = await start({ MAX_CONNECTIONS_PER_IP: "2" });
    const connections = g.gateway.state.security.connections;
    const a = await openSession(g, "c1");
    const b = await openSession(g, "c2");
    expect(connections.count("127.0.0.1")).toBe(2);
    const third = await rawUpgrade(`${g.listenUrl}?sessionId=c3`);
    expect(third.status).toBe(429);
    expect(third.headers["retry-after"]).toBe("5");
    a.ws.close();
    await a.closed;
    await waitFor(() => connections.count("127.0.0.1") === 1);
    const c = await openSession(g, "c3");
    b.send({ type: "CloseStream" });
    c.ws.close();
    await Promise.all([b.closed, c.closed]);
    await waitFor(() => connections.total === 0 && connections.size === 0);
  });

  test("an upgrade abandoned mid-handshake is uncounted too", async () => {
    const g = await start({ MAX_CONNECTIONS_PER_IP: "1" });
    const connections = g.gateway.state.security.connections;
    const answer = await rawUpgrade(`${g.listenUrl}?sessionId=gone`);
    answer.close();
    // Whichever way it ends (open then close, or the routing deadline), it is released once.
    await waitFor(() => connections.total === 0, 15_000);
    (await openSession(g, "next")).ws.close();
    await waitFor(() => connections.total === 0);
  }, 30_000);

  test("a routed upgrade that never opens releases its per-IP slot at the routing deadline, once", async () => {
    const g = await start({ MAX_CONNECTIONS_PER_IP: "1" });
    const { state } = g.gateway;
    jest.useFakeTimers();
    let session: Session;
    try {
      const parsed = parseListenQuery(new URLSearchParams("sessionId=never-opens"));
      if (!parsed.ok) throw new Error(parsed.message);
      const routed = Session.route(sessionDeps(state), { query: parsed.query, ip: "10.1.2.3" });
      if (!("session" in routed)) throw new Error(routed.message);
      session = routed.session;
      jest.advanceTimersByTime(9_000);
      expect(state.security.connections.count("10.1.2.3")).toBe(1);
      jest.advanceTimersByTime(1_001);
      expect(state.security.connections.count("10.1.2.3")).toBe(0);
    } finally {
      jest.useRealTimers();
    }
    const closes: number[] = [];
    session.opened({ send: () => 0, close: (code) => void closes.push(code ?? 0), getBufferedAmount: () => 0 });
    expect(closes).toEqual([1013]); // a late open is turned away, not counted again
    expect(state.security.connections.size).toBe(0);
    expect(state.selector.coordinatorView().totalSessions).toBe(0);
  });
});

describe("secrets", () => {
  test("no key, token, secret or admin token appears in Metadata, /stats or the logs", async () => {
    const g = await start({ API_KEYS: KEY, TOKEN_SECRET: SECRET, ADMIN_TOKEN: ADMIN, LOG_LEVEL: "trace" });
    const { token } = (await (await mint(g, KEY, { sessionId: "secret-1" })).json()) as { token: string };
    await rawUpgrade(`${g.listenUrl}?sessionId=secret-2`, { Authorization: "Bearer wrong-key-0123456789" });
    const byKey = await openSession(g, "secret-2", { headers: { Authorization: `Bearer ${KEY}` } });
    const byToken = await openSession(g, "secret-1", { protocols: ["token", token] });
    const stats = await (await fetch(`${g.httpUrl}/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    byKey.ws.close();
    byToken.ws.close();
    await Promise.all([byKey.closed, byToken.closed]);
    const shown = [JSON.stringify(byKey.json), JSON.stringify(byToken.json), stats, JSON.stringify(g.logs)].join("\n");
    expect(g.logs.length).toBeGreaterThan(0);
    expect(stats).toContain('"apiKeys":1');
    for (const secret of [KEY, SECRET, ADMIN, token, token.split(".")[2]!, "wrong-key-0123456789"]) expect(shown).not.toContain(secret);
  });

  test("ADMIN_TOKEN guards /, /stats and /metrics", async () => {
    const g = await start({ ADMIN_TOKEN: ADMIN });
    for (const path of ["/", "/stats", "/metrics"]) {
      expect((await fetch(`${g.httpUrl}${path}`)).status).toBe(401);
      expect((await fetch(`${g.httpUrl}${path}`, { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);
      expect((await fetch(`${g.httpUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}
