/**
 * `GET /demo`: a browser page that streams the microphone to `/v1/listen` as raw Opus packets and shows the
 * live transcript and which container served it (cold, woke or warm, from Metadata). No build step and no
 * external asset: plain files next to this one, plus libopus-wasm (a single ES module with its WASM inlined)
 * for browsers whose WebCodecs cannot encode Opus. Not behind ADMIN_TOKEN: it shows nothing about the
 * gateway, and `/v1/listen` applies its own client authentication (the page's token field).
 *
 * Stable DOM hooks (the browser test relies on these):
 * - `body[data-state]`: idle | starting | connecting | live | finishing | closed | error; `#status` its text.
 * - `body[data-encoder]`: `webcodecs` | `libopus-wasm` once started; `body[data-packets]`: packets sent.
 * - `#start`, `#stop` buttons; `#session`, `#language`, `#encoder-choice`, `#token` inputs (`?sessionId=`,
 *   `?language=`, `?encoder=auto|webcodecs|wasm` preset them).
 * - From Metadata: `#container`, `#routing`, `#start-kind[data-start=cold|wake|warm]`.
 * - `#finals p.final` one per final transcript, `#interim` the current interim text.
 */
import { Elysia } from "elysia";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const libopusDir = dirname(fileURLToPath(import.meta.resolve("libopus-wasm")));

/** Files served under /demo: URL path -> file on disk. */
const FILES: Record<string, string> = {
  "/demo": join(here, "page.html"),
  "/demo/demo.js": join(here, "demo.js"),
  "/demo/opus.js": join(here, "opus.js"),
  "/demo/capture-worklet.js": join(here, "capture-worklet.js"),
  "/demo/libopus/index.js": join(libopusDir, "index.js"),
  "/demo/libopus/generated/libopus.generated.mjs": join(libopusDir, "generated", "libopus.generated.mjs"),
};

function contentType(path: string): string {
  return path.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8";
}

/** The demo page and its scripts as an Elysia plugin; files are read once, at plugin creation. */
export function demoRoute() {
  const app = new Elysia({ name: "demo" });
  for (const [url, file] of Object.entries(FILES)) {
    const body = readFileSync(file);
    const headers = { "content-type": contentType(file), "cache-control": "no-cache" };
    app.get(url, () => new Response(body, { headers }));
  }
  return app;
}
