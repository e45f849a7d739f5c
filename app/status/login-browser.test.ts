/**
 * The status page's login in Debian's chromium, against a gateway with ADMIN_TOKEN: page script cannot read
 * the session cookie, the page stays live after login, logout ends the session, a page on another origin
 * cannot show the login form in a frame, and no page reports a Content-Security-Policy violation.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Page } from "playwright-core";
import { browserTests, cspViolations, launchChromium, type LaunchedBrowser } from "../../test/chromium.ts";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { pollUntil } from "../../test/wait.ts";
import { ADMIN_COOKIE } from "../security/admin-guard.ts";

const browserTest = await browserTests();
const TOKEN = "browser-admin-token-5678";
let gateway: TestGateway;
let browser: LaunchedBrowser | undefined;
let framing: ReturnType<typeof Bun.serve> | undefined;

beforeAll(async () => {
  gateway = await startTestGateway({
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "1",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    ADMIN_TOKEN: TOKEN,
  });
});

afterAll(async () => {
  await browser?.close();
  framing?.stop(true);
  await gateway?.stop();
});

const openSessionsShown = (page: Page, n: number) =>
  page.waitForFunction((count) => document.querySelector("#totals [data-total=openSessions]")?.textContent?.trim() === String(count), n, {
    timeout: 15_000,
  });

browserTest(
  "login keeps the session where page script cannot read it; the page stays live; logout ends it",
  async () => {
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const violations = cspViolations(page);
    const login = await page.goto(`${gateway.httpUrl}/`);
    expect(login!.status()).toBe(401);

    await page.fill("#login-token", "not-the-token");
    await Promise.all([page.waitForNavigation(), page.click("#login-form button[type=submit]")]);
    expect(await page.textContent("#login-error")).toBe("wrong admin token");

    await page.fill("#login-token", TOKEN);
    await Promise.all([page.waitForNavigation(), page.click("#login-form button[type=submit]")]);
    expect(new URL(page.url()).pathname).toBe("/");
    await page.waitForSelector("body[data-live=live]", { timeout: 15_000 });

    // The browser holds the cookie (HttpOnly, Strict, not the token), and page script sees none of it.
    const [cookie] = (await browser.context.cookies(gateway.httpUrl)).filter((c) => c.name === ADMIN_COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookie!.value).not.toContain(TOKEN);
    expect(cookie!.expires * 1000).toBeGreaterThan(Date.now() + 7 * 3_600_000);
    expect(await page.evaluate(() => document.cookie)).not.toContain(ADMIN_COOKIE);
    expect((await browser.context.request.get(`${gateway.httpUrl}/stats`)).status()).toBe(200);

    // Live: the event stream, authorised by that cookie, pushes the session opening and closing.
    await openSessionsShown(page, 0);
    const client = TestClient.listen(
      gateway.listenUrl.replace(/\/v1\/listen$/, ""),
      "sessionId=login-live&encoding=opus&sample_rate=48000&channels=1",
    );
    await client.next("Metadata", 20_000);
    await openSessionsShown(page, 1);
    await page.waitForSelector("#instances tbody tr[data-instance-id=pool-0][data-state=running]", { timeout: 15_000 });
    client.send({ type: "CloseStream" });
    expect((await client.closed).code).toBe(1000);
    await openSessionsShown(page, 0);

    await Promise.all([page.waitForNavigation(), page.click("#logout")]);
    await page.waitForSelector("#login-form");
    expect((await browser.context.cookies(gateway.httpUrl)).some((c) => c.name === ADMIN_COOKIE)).toBe(false);
    // The browser's own requests (its cookie jar, as a new tab would use it) are no longer admin.
    expect((await browser.context.request.get(`${gateway.httpUrl}/stats`)).status()).toBe(401);
    expect(violations).toEqual([]);
  },
  90_000,
);

browserTest(
  "a page on another origin cannot show the login form in a frame",
  async () => {
    browser ??= await launchChromium();
    // Served unprotected by the framing server itself: proof that a frame that is allowed does show the form.
    const copy = await (await fetch(`${gateway.httpUrl}/`)).text();
    framing = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const path = new URL(request.url).pathname;
        const html = (src: string) =>
          new Response(`<!doctype html><h1>framing</h1><iframe id="f" src="${src}" width="600" height="400"></iframe>`, {
            headers: { "content-type": "text/html" },
          });
        if (path === "/gateway") return html(`${gateway.httpUrl}/`);
        if (path === "/control") return html("/copy");
        if (path === "/copy") return new Response(copy, { headers: { "content-type": "text/html" } });
        return new Response("not found", { status: 404 });
      },
    });
    const page = await browser.context.newPage();
    const refused: string[] = [];
    page.on("console", (m) => void (/frame-ancestors/.test(m.text()) && refused.push(m.text())));
    /** Whether any frame of `page` (the iframe, when it rendered) has the login form in its document. */
    const frameShowsLogin = async () => {
      for (const frame of page.frames()) if (frame !== page.mainFrame() && (await frame.$("#login-form"))) return true;
      return false;
    };

    await page.goto(`http://127.0.0.1:${framing.port}/control`);
    expect(await pollUntil(frameShowsLogin, "the control frame to show the copied form", 10_000, 50)).toBe(true);

    await page.goto(`http://127.0.0.1:${framing.port}/gateway`);
    await pollUntil(() => refused.length > 0, "chromium to refuse the frame (frame-ancestors)", 10_000, 50);
    expect(await frameShowsLogin()).toBe(false);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame?.url()).not.toBe(`${gateway.httpUrl}/`);
  },
  60_000,
);
