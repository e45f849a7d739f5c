/**
 * `GET /demo`: a browser page that streams the microphone to `/v1/listen` as raw Opus packets and shows the
 * live transcript and which container served it (cold, woke or warm, from Metadata). No build step and no
 * external asset: plain files next to this one plus libopus-wasm (a single ES module with its WASM inlined)
 * for browsers whose WebCodecs cannot encode Opus; assets.ts embeds them all in a compiled gateway. Not behind ADMIN_TOKEN: it shows nothing about the
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
import { ASSET_HEADERS, contentSecurityPolicy, pageHeaders, sha256Source } from "../security/page-policy.ts";
import { DEMO_FILES } from "./assets.ts";

/**
 * The page's policy, its inline <style> allowed by hash (computed from the file served, so an edit stays
 * allowed): scripts from this gateway only, plus 'wasm-unsafe-eval' because the libopus-wasm fallback
 * compiles WebAssembly (it allows no JavaScript eval); connect-src 'self' covers the page's WebSocket to
 * `/v1/listen` on this host (CSP 3 matches ws: and wss: under 'self').
 */
export function demoPageCsp(html: string): string {
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => sha256Source(m[1]!));
  return contentSecurityPolicy({
    "script-src": ["'self'", "'wasm-unsafe-eval'"],
    "style-src": styles,
    "connect-src": ["'self'"],
  });
}

function headersFor(path: string, body: Buffer): Record<string, string> {
  if (path.endsWith(".html")) return { ...pageHeaders(demoPageCsp(body.toString("utf8"))), "cache-control": "no-cache" };
  return { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", ...ASSET_HEADERS };
}

/** The demo page and its scripts as an Elysia plugin; files are read once, at plugin creation. */
export function demoRoute() {
  const app = new Elysia({ name: "demo" });
  for (const [url, file] of Object.entries(DEMO_FILES)) {
    const body = readFileSync(file);
    const headers = headersFor(file, body);
    app.get(url, () => new Response(body, { headers }));
  }
  return app;
}
