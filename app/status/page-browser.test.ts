/**
 * The status page in Debian's chromium: while sessions open and close on the gateway, the page (loaded once)
 * shows the instance rows, counts and feed change without a reload. DOM hooks: app/status/page.ts.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { browserTests, cspViolations, launchChromium, type LaunchedBrowser, screenshotPath } from "../../test/chromium.ts";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";

const browserTest = await browserTests();
const SCREENSHOT = screenshotPath("status.png");
const QUERY = "encoding=opus&sample_rate=48000&channels=1";

let gateway: TestGateway;
let browser: LaunchedBrowser | undefined;
const clients: TestClient[] = [];

beforeAll(async () => {
  // The echo backend needs no transcription upstream: these sessions only have to open and close.
  gateway = await startTestGateway({
    ROUTING_MODE: "pool",
    CONTAINER_POOL_SIZE: "2",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
  });
});

afterAll(async () => {
  for (const client of clients) client.ws.close();
  await browser?.close();
  await gateway?.stop();
});

const total = (page: Page, key: string) => page.textContent(`#totals [data-total=${key}]`).then((t) => Number(t?.trim()));

/** Waits until the page shows `count` open sessions, as pushed by the server. */
async function showsOpenSessions(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelector("#totals [data-total=openSessions]")?.textContent?.trim() === String(n), count, {
    timeout: 15_000,
  });
}

/** Waits until the connections cells over every instance row add up to `count`. */
async function rowsShowConnections(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const cells = document.querySelectorAll("#instances tbody tr[data-instance-id] td[data-field=connections]");
      return Array.from(cells).reduce((sum, td) => sum + Number(td.textContent?.trim() || 0), 0) === n;
    },
    count,
    { timeout: 15_000 },
  );
}

async function openSession(sessionId: string): Promise<TestClient> {
  const client = TestClient.listen(gateway.listenUrl.replace(/\/v1\/listen$/, ""), `sessionId=${sessionId}&${QUERY}`);
  clients.push(client);
  await client.next("Metadata", 20_000);
  return client;
}

browserTest(
  "the status page updates live, without a reload, as sessions open and close",
  async () => {
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const violations = cspViolations(page);
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${gateway.httpUrl}/`);
    await page.waitForSelector("body[data-live=live]", { timeout: 15_000 });
    expect(await page.textContent("#mode")).toContain("pool");
    expect(await total(page, "openSessions")).toBe(0);
    // A marker on the window: a reload would wipe it, so finding it at the end proves the page was pushed to.
    await page.evaluate(() => ((window as any).loadedOnce = true));

    const a = await openSession("status-a");
    const b = await openSession("status-b");
    await showsOpenSessions(page, 2);
    await page.waitForSelector("#instances tbody tr[data-instance-id][data-state=running]", { timeout: 15_000 });
    await rowsShowConnections(page, 2);
    const running = await page.$$eval("#instances tbody tr[data-state=running]", (rows) =>
      rows.map((r) => r.getAttribute("data-instance-id")),
    );
    expect(running.length).toBeGreaterThanOrEqual(1);
    expect(running.every((id) => /^pool-[01]$/.test(id ?? ""))).toBe(true);
    await page.waitForSelector("#feed li[data-kind=started]", { timeout: 15_000 });
    expect(await total(page, "sessions")).toBe(2);
    // The charts have drawn the sessions going up before the screenshot shows them.
    await page.waitForFunction(() => Number(document.querySelector("#chart-sessions")?.getAttribute("data-points")) > 1, undefined, {
      timeout: 15_000,
    });
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    a.send({ type: "CloseStream" });
    expect((await a.closed).code).toBe(1000);
    await showsOpenSessions(page, 1);
    await rowsShowConnections(page, 1);

    b.send({ type: "CloseStream" });
    await b.closed;
    await showsOpenSessions(page, 0);
    await rowsShowConnections(page, 0);
    expect(await page.evaluate(() => (window as any).loadedOnce)).toBe(true);
    expect(await page.getAttribute("body", "data-live")).toBe("live");
    // The page's CSP (hashes, no 'unsafe-inline') refused nothing it needs.
    expect(violations).toEqual([]);
  },
  60_000,
);
