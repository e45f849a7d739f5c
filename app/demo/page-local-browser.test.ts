/**
 * The demo page in Debian's chromium with a LibriVox clip (pocketsphinx-testdata) as its microphone, through a
 * real gateway (process driver) to the local recognizer: the transcript it shows holds words of the reference.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { browserTests, launchChromium, type LaunchedBrowser } from "../../test/chromium.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { clipPcm48k, librivoxClips } from "../../test/librivox.ts";
import { recognizerSkipReason } from "../../test/recognizer.ts";
import { wavBytes } from "../../test/wav.ts";
import { words } from "../../test/wer.ts";

const browserTest = await browserTests();
const localBrowserTest = recognizerSkipReason && process.env.REQUIRE_ENGINE !== "1" ? test.skip : browserTest;
if (recognizerSkipReason) console.warn(`[skip] demo page with the local recognizer: ${recognizerSkipReason}`);
let gateway: TestGateway | undefined;
let browser: LaunchedBrowser | undefined;
const dir = mkdtempSync(join(tmpdir(), "te-demo-local-"));

beforeAll(async () => {
  if (recognizerSkipReason) return;
  gateway = await startTestGateway({
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "local",
    LOG_LEVEL: "warn",
  });
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

localBrowserTest(
  "the demo page with a LibriVox clip as microphone shows words of its reference transcript",
  async () => {
    if (recognizerSkipReason) throw new Error(`REQUIRE_ENGINE=1 but ${recognizerSkipReason}`);
    const clip = librivoxClips()[3]!; // "had he married a more a amiable woman he might have been made still more respectable ..."
    const microphone = join(dir, "librivox.wav");
    // 1.5 s of silence after the sentence: the endpointer ends the utterance before chromium loops the file.
    writeFileSync(microphone, wavBytes(clipPcm48k(clip, 1500), 48_000));
    browser = await launchChromium([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${microphone}`,
    ]);
    const page = await browser.context.newPage();
    await page.goto(`${gateway!.httpUrl}/demo?sessionId=browser-local`);
    await page.click("#start");
    await page.waitForFunction(() => document.querySelectorAll("#finals p.final").length >= 1, undefined, { timeout: 30_000 });
    const shown = (await page.$$eval("#finals p.final", (ps) => ps.map((p) => p.textContent ?? ""))).join(" ");
    const reference = new Set(words(clip.reference));
    const matching = words(shown).filter((word) => reference.has(word));
    console.log(`[demo local] shown: ${shown}`);
    // The reference has 18 distinct words; demo-quality recognition of one pass gets most of them.
    expect(new Set(matching).size, shown).toBeGreaterThanOrEqual(6);
    await page.click("#stop");
    await page.waitForSelector("body[data-state=closed]", { timeout: 15_000 });
    expect(await page.textContent("#status")).toContain("1000");
  },
  90_000,
);
