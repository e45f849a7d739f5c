/** The status page's login and logout over HTTP (the browser's view: login-browser.test.ts). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { ADMIN_COOKIE } from "../security/admin-guard.ts";

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
    const stream = await fetch(`${admin.httpUrl}/status/events`, { headers: { cookie } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    await stream.body!.cancel();
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
    const crossLogout = await fetch(`${admin.httpUrl}/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { "sec-fetch-site": "same-site" },
    });
    expect(crossLogout.status).toBe(403);
    expect(crossLogout.headers.get("set-cookie")).toBeNull();
    expect((await login(`token=${encodeURIComponent(token)}`, { "sec-fetch-site": "same-origin" })).status).toBe(303);
  });
});

test("login attempts count against RATE_LIMIT_PER_IP: guessing the admin token is throttled", async () => {
  const limited = await startTestGateway({
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    ADMIN_TOKEN: "rate-limited-admin-token",
    RATE_LIMIT_PER_IP: "2/m",
  });
  try {
    const attempt = () =>
      fetch(`${limited.httpUrl}/login`, { method: "POST", redirect: "manual", body: new URLSearchParams({ token: "guess" }) });
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
