import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { ADMIN_COOKIE } from "../security/admin-guard.ts";
import { StatusHub, type StatusSnapshot } from "./hub.ts";

/** Reads `event: snapshot` frames from an SSE response as they arrive. */
class SnapshotReader {
  readonly snapshots: StatusSnapshot[] = [];
  private buffer = "";
  private readonly done: Promise<void>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly response: Response) {
    const reader = (this.reader = response.body!.getReader());
    const decoder = new TextDecoder();
    this.done = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) >= 0) {
          const frame = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const data = frame.split("\n").find((line) => line.startsWith("data: "));
          if (frame.includes("event: snapshot") && data) this.snapshots.push(JSON.parse(data.slice(6)));
        }
      }
    })().catch(() => undefined);
  }

  async until(predicate: (s: StatusSnapshot) => boolean, timeoutMs = 10_000): Promise<StatusSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.snapshots.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching snapshot in ${timeoutMs} ms (got ${this.snapshots.length})`);
      await Bun.sleep(10);
    }
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
    await this.done;
  }
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ ROUTING_MODE: "pool", CONTAINER_POOL_SIZE: "2", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
});
afterAll(() => gw?.stop());

test("the page is one self-contained document with the live hooks and the snapshot embedded", async () => {
  const response = await fetch(`${gw.httpUrl}/`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const html = await response.text();
  expect(html).not.toMatch(/<link|<img|\ssrc=|url\(/);
  for (const hook of ['id="instances"', 'id="feed"', 'id="chart-sessions"', 'id="chart-starts"', 'data-total="openSessions"', 'id="config"', 'new EventSource("/status/events")']) {
    expect(html).toContain(hook);
  }
  const embedded = /<script type="application\/json" id="initial-snapshot">(.*?)<\/script>/s.exec(html)![1]!;
  expect(JSON.parse(embedded)).toMatchObject({ mode: "pool", config: { containerPoolSize: 2 } });
});

test("the event stream pushes a fresh snapshot as a session opens and closes", async () => {
  const stream = new SnapshotReader(await fetch(`${gw.httpUrl}/status/events`));
  expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  await stream.until((s) => s.totals.openSessions === 0);
  const client = TestClient.connect(`${gw.listenUrl}?sessionId=status-live`);
  const metadata = await client.next("Metadata", 15_000);
  const open = await stream.until((s) => s.instances.some((i) => i.id === metadata.container && i.state === "running" && i.connections === 1));
  expect(open.totals.openSessions).toBe(1);
  const started = await stream.until((s) => s.feed.some((e) => e.kind === "started"));
  expect(started.feed[0]).toMatchObject({ kind: "started", instanceId: metadata.container });
  expect(started.series.starts).toContainEqual(expect.objectContaining({ kind: "cold", instanceId: metadata.container }));
  client.send({ type: "CloseStream" });
  await client.closed;
  const closed = await stream.until((s) => s.totals.openSessions === 0 && s.totals.sessions === 1);
  expect(closed.series.sessions.some((p) => p.open === 1)).toBe(true);
  await stream.close();
});

test("a burst of events is coalesced into few pushes", async () => {
  const hub = new StatusHub(gw.gateway.state, { minIntervalMs: 200, heartbeatMs: 60_000 });
  const response = hub.connect(new Request("http://x/status/events"));
  const stream = new SnapshotReader(response);
  await stream.until(() => true);
  for (let i = 0; i < 100; i++) gw.gateway.state.events.emit({ type: "rejected", reason: "burst", status: 503 });
  await Bun.sleep(500);
  // The first snapshot at connect, then the burst in at most two (one at once, one trailing).
  expect(stream.snapshots.length).toBeGreaterThanOrEqual(2);
  expect(stream.snapshots.length).toBeLessThanOrEqual(3);
  expect(stream.snapshots.at(-1)!.feed.filter((e) => e.kind === "rejected").length).toBe(50); // the ring's size
  hub.close();
  await stream.close();
});

test("event-stream clients are bounded: one too many gets 503", async () => {
  const hub = new StatusHub(gw.gateway.state, { maxClients: 1 });
  const first = hub.connect(new Request("http://x/status/events"));
  expect(first.status).toBe(200);
  expect(hub.connect(new Request("http://x/status/events")).status).toBe(503);
  hub.close();
  expect(hub.clientCount).toBe(0);
});

describe("with ADMIN_TOKEN", () => {
  const token = "status-admin-token-123";
  let admin: TestGateway;
  beforeAll(async () => {
    admin = await startTestGateway({ CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo", ADMIN_TOKEN: token });
  });
  afterAll(() => admin?.stop());

  const login = (form: string, headers: Record<string, string> = {}) =>
    fetch(`${admin.httpUrl}/login`, {
      method: "POST",
      redirect: "manual",
      body: form,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    });
  /** The cookie pair (`name=value`) a Set-Cookie header sets. */
  const cookiePair = (response: Response) => response.headers.get("set-cookie")!.split(";")[0]!;

  test("the page shows a login form and the stream refuses until a login or the Bearer header", async () => {
    const page = await fetch(`${admin.httpUrl}/`);
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toMatch(/<form id="login-form" method="post" action="\/login">/);
    expect(html).not.toContain(token);
    expect((await fetch(`${admin.httpUrl}/status/events`)).status).toBe(401);
    // The raw token in the cookie (what the login used to store) is no longer a credential.
    expect((await fetch(`${admin.httpUrl}/`, { headers: { cookie: `${ADMIN_COOKIE}=${encodeURIComponent(token)}` } })).status).toBe(401);
    expect((await fetch(`${admin.httpUrl}/stats`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("a login with the token sets an HttpOnly, SameSite=Strict session cookie that opens the page, stream and /stats", async () => {
    const response = await login(`token=${encodeURIComponent(token)}`);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
    const setCookie = response.headers.get("set-cookie")!;
    expect(setCookie).toContain(`${ADMIN_COOKIE}=`);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; Max-Age=28800/);
    expect(setCookie).not.toMatch(/Secure/); // plain http here; https requests get Secure
    expect(setCookie).not.toContain(token);
    const cookie = `other=1; ${cookiePair(response)}`;

    const page = await fetch(`${admin.httpUrl}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form id="logout-form" method="post" action="/logout">');
    const stream = new SnapshotReader(await fetch(`${admin.httpUrl}/status/events`, { headers: { cookie } }));
    await stream.until(() => true);
    await stream.close();
    expect((await fetch(`${admin.httpUrl}/stats`, { headers: { cookie } })).status).toBe(200);
  });

  test("a wrong token gets the login page again with 401 and a message; a missing field is 400", async () => {
    const wrong = await login("token=not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain('<p id="login-error" role="alert">wrong admin token</p>');
    expect(admin.logs.some((l) => l.msg === "admin login refused: wrong ADMIN_TOKEN")).toBe(true);
    expect(JSON.stringify(admin.logs)).not.toContain("not-the-token");
    const missing = await login("password=x");
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('form field "token"');
  });

  test("logout clears the cookie; a cross-site POST can neither log in nor out", async () => {
    const out = await fetch(`${admin.httpUrl}/logout`, { method: "POST", redirect: "manual" });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${ADMIN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`));
    const crossLogin = await login(`token=${encodeURIComponent(token)}`, { "sec-fetch-site": "cross-site" });
    expect(crossLogin.status).toBe(403);
    expect(crossLogin.headers.get("set-cookie")).toBeNull();
    const crossLogout = await fetch(`${admin.httpUrl}/logout`, { method: "POST", redirect: "manual", headers: { "sec-fetch-site": "same-site" } });
    expect(crossLogout.status).toBe(403);
    expect(crossLogout.headers.get("set-cookie")).toBeNull();
    expect((await login(`token=${encodeURIComponent(token)}`, { "sec-fetch-site": "same-origin" })).status).toBe(303);
  });
});

test("login attempts count against RATE_LIMIT_PER_IP: guessing the admin token is throttled", async () => {
  const limited = await startTestGateway({ CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo", ADMIN_TOKEN: "rate-limited-admin-token", RATE_LIMIT_PER_IP: "2/m" });
  try {
    const attempt = () => fetch(`${limited.httpUrl}/login`, { method: "POST", redirect: "manual", body: new URLSearchParams({ token: "guess" }) });
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    const third = await attempt();
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await third.text()).toContain("RATE_LIMIT_PER_IP=2/m");
  } finally {
    await limited.stop();
  }
});
