/**
 * The demo page in Debian's chromium with a WAV file as its microphone: the page encodes Opus, streams it
 * through a real gateway (process driver) to the stand-in, and shows the transcript and the Metadata.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { speechLikePcm48k } from "../../test/audio.ts";
import { browserTests, cspViolations, launchChromium, type LaunchedBrowser, screenshotPath } from "../../test/chromium.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { wavBytes } from "../../test/wav.ts";

const browserTest = await browserTests();
const PITCH_HZ = 240;
const SPEECH_MS = 1000;
const SCREENSHOT = screenshotPath("demo.png");
let gateway: TestGateway;
let browser: LaunchedBrowser | undefined;
const dir = mkdtempSync(join(tmpdir(), "te-demo-"));

beforeAll(async () => {
  gateway = await startTestGateway(
    {
      ROUTING_MODE: "shared",
      CONTAINER_DRIVER: "process",
      CONTAINER_NETWORK: "host",
    },
    { standin: true },
  );
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The fake microphone: turns of a 240 Hz speech-like tone with pauses; chromium loops the file. */
function microphoneWav(): string {
  const pcm = speechLikePcm48k({
    pitchHz: PITCH_HZ,
    turns: [
      { speechMs: SPEECH_MS, silenceMs: 900 },
      { speechMs: SPEECH_MS, silenceMs: 900 },
    ],
  });
  const file = join(dir, "microphone.wav");
  writeFileSync(file, wavBytes(pcm, 48_000));
  return file;
}

async function finalTranscripts(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction((n) => document.querySelectorAll("#finals p.final").length >= n, count, { timeout: 30_000 });
  return page.$$eval("#finals p.final", (ps) => ps.map((p) => p.textContent ?? ""));
}

/** Each stand-in transcript states what it heard: "<ms> ms of speech at <hz> hz". */
function expectDescribesTheTone(transcripts: string[]): void {
  for (const text of transcripts) {
    const match = /(\d+) ms of speech at (\d+) hz/.exec(text);
    expect(match, text).not.toBeNull();
    expect(Math.abs(Number(match![2]) - PITCH_HZ), text).toBeLessThanOrEqual(20);
    expect(Math.abs(Number(match![1]) - SPEECH_MS), text).toBeLessThanOrEqual(400);
  }
}

browserTest(
  "the demo page streams the microphone as Opus and shows the live transcript with the container that served it",
  async () => {
    browser = await launchChromium([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${microphoneWav()}`,
    ]);
    const page = await browser.context.newPage();
    const violations = cspViolations(page);
    await page.setViewportSize({ width: 1000, height: 560 });
    await page.goto(`${gateway.httpUrl}/demo?sessionId=browser-demo`);
    await page.click("#start");

    await page.waitForSelector("#start-kind[data-start]", { timeout: 20_000 });
    expect(await page.textContent("#container")).toBe("shared");
    expect(await page.getAttribute("#start-kind", "data-start")).toBe("cold");
    expect(await page.textContent("#start-kind")).toContain("cold");
    // Debian's chromium encodes with WebCodecs; the libopus-wasm fallback is exercised below.
    expect(await page.getAttribute("body", "data-encoder")).toBe("webcodecs");

    const transcripts = await finalTranscripts(page, 2);
    expectDescribesTheTone(transcripts);
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.click("#stop");
    await page.waitForSelector("body[data-state=closed]", { timeout: 15_000 });
    expect(await page.textContent("#status")).toContain("1000");
    const packets = Number(await page.getAttribute("body", "data-packets"));
    // 20 ms packets: at least the two turns of speech went out.
    expect(packets).toBeGreaterThan((2 * SPEECH_MS) / 20);

    // The session's instance is warm now: a second page with the libopus-wasm encoder says so.
    const second = await browser.context.newPage();
    const wasmViolations = cspViolations(second);
    await second.goto(`${gateway.httpUrl}/demo?sessionId=browser-demo-wasm&encoder=wasm`);
    await second.click("#start");
    await second.waitForSelector("#start-kind[data-start]", { timeout: 20_000 });
    expect(await second.getAttribute("#start-kind", "data-start")).toBe("warm");
    expect(await second.getAttribute("body", "data-encoder")).toBe("libopus-wasm");
    expectDescribesTheTone(await finalTranscripts(second, 1));
    await second.click("#stop");
    await second.waitForSelector("body[data-state=closed]", { timeout: 15_000 });
    expect((await gateway.stats()).totals.sessions).toBe(2);
    // The page's CSP allowed what both encoders need (its WebSocket, the worklet, libopus-wasm's WebAssembly).
    expect(violations).toEqual([]);
    expect(wasmViolations).toEqual([]);
  },
  90_000,
);
