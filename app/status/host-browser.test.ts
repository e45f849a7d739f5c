/**
 * The status page names the engine host each instance runs on (ENGINE_HOSTS), in Debian's chromium: a gateway
 * with one named engine host (this machine's Podman socket as `h1`) starts a container for a session, and the
 * page's row for that instance shows `h1`, as /stats does, and the transcriber's own load report once the
 * gateway has read it. DOM hooks: app/status/page.ts.
 */
import { afterAll, expect } from "bun:test";
import { browserTests, cspViolations, launchChromium, type LaunchedBrowser } from "../../test/chromium.ts";
import { TestClient } from "../../test/client.ts";
import { engine, engineTest } from "../../test/engine.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { ensureImage } from "../../runtime/image-build.ts";

// Without an engine, engineTest skips it (or fails it under REQUIRE_ENGINE=1) with the reason.
const hostTest = engine ? await browserTests() : engineTest;
let gateway: TestGateway | undefined;
let browser: LaunchedBrowser | undefined;
let client: TestClient | undefined;

afterAll(async () => {
  client?.ws.close();
  await browser?.close();
  await gateway?.stop();
});

hostTest(
  "each instance row shows the engine host it runs on",
  async () => {
    await ensureImage();
    gateway = await startTestGateway({
      ROUTING_MODE: "shared",
      TRANSCRIBER_BACKEND: "echo",
      ENGINE_HOSTS: `h1@${engine!.dockerHost}`,
    });
    client = TestClient.connect(`${gateway.listenUrl}?sessionId=host-row`);
    await client.next("Metadata", 20_000);
    const stats = await (await fetch(`${gateway.httpUrl}/stats`)).json();
    expect(stats.instances.map((i: { id: string; host: string }) => [i.id, i.host])).toEqual([["shared", "h1"]]);

    browser = await launchChromium();
    const page = await browser.context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${gateway.httpUrl}/`);
    await page.waitForFunction(
      () => document.querySelector('#instances tr[data-instance-id="shared"] td[data-field=host]')?.textContent === "h1",
      undefined,
      { timeout: 15_000 },
    );
    // The transcriber's load report, read once a second: lag, its CPU and its machine's while it takes sessions.
    await page.waitForFunction(
      () =>
        /^lag \d+ ms, CPU \d+ %, machine \d+ %$/.test(
          document.querySelector('#instances tr[data-instance-id="shared"] td[data-field=load]')?.textContent ?? "",
        ),
      undefined,
      { timeout: 15_000 },
    );
    const load = (await (await fetch(`${gateway.httpUrl}/stats`)).json()).instances[0].load;
    expect(load).toMatchObject({ accepting: true });
    expect(load.cpuShare).toBeGreaterThanOrEqual(0);
    expect(load.hostCpuBusy).toBeGreaterThanOrEqual(0);
    expect(violations).toEqual([]);
  },
  60_000,
);
