/**
 * Every HTML page the gateway serves, fetched from a real gateway and parsed with Bun's HTMLRewriter (an HTML
 * parser, not the code that computes the hashes): each inline script and stylesheet must be allowed by a hash
 * in the page's own CSP, nothing inline may need 'unsafe-inline' (`style=` or `on...=` attributes), and the
 * framing and sniffing headers are there. Editing an inline script without its hash following fails here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { sha256Source } from "./page-policy.ts";

const TOKEN = "page-policy-admin-token-1234";
let gw: TestGateway;
let cookie: string;

beforeAll(async () => {
  gw = await startTestGateway({ CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo", ADMIN_TOKEN: TOKEN });
  const login = await fetch(`${gw.httpUrl}/login`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ token: TOKEN }),
  });
  cookie = login.headers.get("set-cookie")!.split(";")[0]!;
});
afterAll(() => gw?.stop());

interface InlineContent {
  scripts: string[];
  styles: string[];
  /** Attributes a strict CSP refuses: `style=...` and event handlers, as `tag[attr]`. */
  inlineAttributes: string[];
  /** `src` of external scripts. */
  scriptSources: string[];
}

/** The inline scripts (JavaScript only: JSON data blocks do not run), styles and attributes of `html`. */
async function inlineContent(html: string): Promise<InlineContent> {
  const found: InlineContent = { scripts: [], styles: [], inlineAttributes: [], scriptSources: [] };
  // Where the text of the element being parsed goes: the last slot of `scripts` or `styles`, or nowhere.
  let into: string[] | undefined;
  const append = (chunk: { text: string }) => {
    if (into) into[into.length - 1] += chunk.text;
  };
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        for (const [name] of el.attributes)
          if (name === "style" || name.startsWith("on")) found.inlineAttributes.push(`${el.tagName}[${name}]`);
      },
    })
    .on("script", {
      element(el) {
        const src = el.getAttribute("src");
        const type = el.getAttribute("type") ?? "";
        if (src !== null) found.scriptSources.push(src);
        into = src === null && ["", "module", "text/javascript"].includes(type) ? found.scripts : undefined;
        into?.push("");
      },
      text: append,
    })
    .on("style", {
      element() {
        into = found.styles;
        into.push("");
      },
      text: append,
    })
    .transform(new Response(html))
    .text();
  return found;
}

/** The CSP header as directive -> sources. */
function policy(response: Response): Map<string, string[]> {
  const header = response.headers.get("content-security-policy");
  expect(header, `${response.url} has no Content-Security-Policy`).not.toBeNull();
  return new Map(
    header!
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...sources]) => [name!, sources]),
  );
}

async function expectConfined(response: Response): Promise<InlineContent> {
  const html = await response.text();
  const csp = policy(response);
  const content = await inlineContent(html);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
  expect(csp.get("default-src")).toEqual(["'none'"]);
  expect(csp.get("base-uri")).toEqual(["'none'"]);
  const sources = [...csp.values()].flat();
  expect(sources).not.toContain("'unsafe-inline'");
  expect(sources).not.toContain("'unsafe-eval'"); // 'wasm-unsafe-eval' (WebAssembly only) is allowed where needed
  expect(content.inlineAttributes).toEqual([]);
  for (const script of content.scripts) expect(csp.get("script-src") ?? []).toContain(sha256Source(script));
  for (const style of content.styles) expect(csp.get("style-src") ?? []).toContain(sha256Source(style));
  // Nothing allowed beyond what the page holds: one hash per inline block, no spare ones.
  const hashes = (name: string) => (csp.get(name) ?? []).filter((s) => s.startsWith("'sha256-"));
  expect(hashes("script-src").length).toBe(new Set(content.scripts).size);
  expect(hashes("style-src").length).toBe(new Set(content.styles).size);
  return content;
}

describe("every HTML page runs under a strict CSP that matches its inline content", () => {
  test("the login page: its style only, no script, the form posting to this gateway", async () => {
    const response = await fetch(`${gw.httpUrl}/`);
    expect(response.status).toBe(401);
    const csp = policy(response.clone());
    const content = await expectConfined(response);
    expect(content.scripts).toEqual([]);
    expect(content.styles.length).toBe(1);
    expect(csp.get("form-action")).toEqual(["'self'"]);
    expect(csp.has("script-src")).toBe(false);
  });

  test("the login page after a wrong token", async () => {
    const response = await fetch(`${gw.httpUrl}/login`, { method: "POST", body: new URLSearchParams({ token: "wrong" }) });
    expect(response.status).toBe(401);
    await expectConfined(response);
  });

  test("the status page: its script and style by hash, its event stream on the same origin", async () => {
    const response = await fetch(`${gw.httpUrl}/`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const csp = policy(response.clone());
    const content = await expectConfined(response);
    expect(content.scripts.length).toBe(1);
    expect(content.scripts[0]).toContain('new EventSource("/status/events")');
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("script-src")!.every((s) => s.startsWith("'sha256-"))).toBe(true);
  });

  test("the demo page: scripts from this gateway, WebAssembly for the libopus fallback, its style by hash", async () => {
    const response = await fetch(`${gw.httpUrl}/demo`);
    const csp = policy(response.clone());
    const content = await expectConfined(response);
    expect(content.scripts).toEqual([]);
    expect(content.scriptSources).toEqual(["/demo/demo.js"]);
    expect(csp.get("script-src")).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    for (const path of ["/demo/demo.js", "/demo/opus.js", "/demo/capture-worklet.js", "/demo/libopus/index.js"]) {
      const asset = await fetch(`${gw.httpUrl}${path}`);
      expect(asset.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(asset.headers.get("content-type"), path).toBe("text/javascript; charset=utf-8");
    }
  });
});
