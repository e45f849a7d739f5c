/**
 * Browser tests drive Debian's chromium through playwright-core (`npx playwright install` cannot download
 * here). This module installs chromium with apt-get when it is missing and we are root, launches it the way
 * the tests need, and gates browser tests: they skip with a printed reason when chromium cannot be had,
 * unless REQUIRE_BROWSER=1, which turns the skip into a failure.
 *
 * Run directly (`bun test/chromium.ts`) to install ahead of time.
 */
import { test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Flags every test launch uses: headless without the sandbox (tests run as root in a container), and nothing
 * that reaches the network on its own (only 127.0.0.1 is reachable here).
 */
export const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * The install: chromium and a font, nothing it merely recommends. With its recommends apt-get installs about
 * 120 packages (avahi-daemon, cups-pk-helper, upower, systemd, perl, ...) that a headless browser never uses;
 * without them it was 15 on this machine. fonts-dejavu-core is already a dependency (fontconfig's first
 * choice), named so that text renders however the alternatives resolve; test/chromium.test.ts checks it does.
 */
export const APT_INSTALL = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-dejavu-core"];

async function run(cmd: string[]): Promise<number> {
  const proc = Bun.spawn(cmd, {
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return proc.exited;
}

/**
 * Resolves with the path of chromium, installing it with apt-get (progress on the terminal) when it is absent
 * and we are root; otherwise resolves with the reason it is unavailable.
 */
export async function ensureChromium(): Promise<{ path: string } | { reason: string }> {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.getuid?.() !== 0) return { reason: `${CHROMIUM_PATH} is missing and installing it needs root (${APT_INSTALL.join(" ")})` };
  if (!existsSync("/usr/bin/apt-get")) return { reason: `${CHROMIUM_PATH} is missing and there is no apt-get to install it` };
  console.warn(`[chromium] ${CHROMIUM_PATH} is missing: installing Debian's chromium with apt-get (a minute or two)`);
  // A fresh container often has no package lists yet; an update first makes the install work either way.
  if ((await run(APT_INSTALL)) !== 0) {
    await run(["apt-get", "update", "-q"]);
    if ((await run(APT_INSTALL)) !== 0) {
      return { reason: `${APT_INSTALL.join(" ")} failed (see its output above)` };
    }
  }
  return existsSync(CHROMIUM_PATH) ? { path: CHROMIUM_PATH } : { reason: `apt-get finished but ${CHROMIUM_PATH} is still missing` };
}

let available: Promise<{ path: string } | { reason: string }> | undefined;

/**
 * `test` when chromium is (or can be made) available; otherwise a skip with the reason, or a failure under
 * REQUIRE_BROWSER=1. Call at module top level with `await`: the install, if any, happens once per process.
 */
export async function browserTests(): Promise<(name: string, fn: () => Promise<void>, timeoutMs?: number) => void> {
  const result = await (available ??= ensureChromium());
  if ("path" in result) return (name, fn, timeoutMs) => void test(name, fn, timeoutMs);
  return (name, fn) => {
    if (process.env.REQUIRE_BROWSER === "1") {
      test(name, () => {
        throw new Error(`REQUIRE_BROWSER=1 but ${result.reason}`);
      });
    } else {
      console.warn(`[skip] ${name}: ${result.reason}`);
      test.skip(name, fn);
    }
  };
}

/** A running chromium with its own fresh profile; `close()` ends that browser and deletes the profile. */
export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches chromium headless with a fresh user-data-dir (a persistent context is how playwright takes one),
 * plus `extraArgs` such as the fake-microphone flags.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "te-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...BASE_ARGS, ...extraArgs],
    viewport: { width: 1200, height: 800 },
  });
  return {
    context,
    async close() {
      // Closing the persistent context ends the browser process playwright started for it.
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Collects the console errors in which chromium reports something refused by the page's
 * Content-Security-Policy (a script, style, connection, frame or form); a test expects the list empty.
 */
export function cspViolations(page: Page): string[] {
  const found: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) found.push(message.text());
  });
  return found;
}

export type { Browser };

if (import.meta.main) {
  const result = await ensureChromium();
  if ("path" in result) console.log(`chromium: ${result.path}`);
  else {
    console.error(`chromium unavailable: ${result.reason}`);
    process.exit(1);
  }
}

/**
 * Where a browser test writes its screenshot: the README's image under docs/screenshots when
 * UPDATE_SCREENSHOTS=1, else a temporary file, so an ordinary test run leaves the tree clean.
 */
export function screenshotPath(name: string): string {
  if (process.env.UPDATE_SCREENSHOTS === "1") return join(import.meta.dir, "../docs/screenshots", name);
  return join(tmpdir(), `transcribe-edge-${process.pid}-${name}`);
}
