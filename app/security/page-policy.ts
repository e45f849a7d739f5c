/**
 * What every HTML page the gateway serves sends so a browser confines it: a Content-Security-Policy with no
 * 'unsafe-inline' (each inline script or style allowed by its SHA-256 instead), `frame-ancestors 'none'` (no
 * other site can frame the login form for clickjacking), `nosniff` and a Referrer-Policy. A page starts from
 * nothing allowed (`default-src 'none'`) and names what it needs.
 */
import { createHash } from "node:crypto";

/** A CSP source allowing exactly the inline element whose text is `text`: `'sha256-<base64>'`. */
export function sha256Source(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** The policy's directives: name -> sources. Ones left out keep the base (nothing, or 'none'). */
export type CspDirectives = Partial<Record<"script-src" | "style-src" | "connect-src" | "img-src" | "form-action", string[]>>;

const BASE: Record<string, string[]> = {
  "default-src": ["'none'"],
  "base-uri": ["'none'"],
  "form-action": ["'none'"],
  "frame-ancestors": ["'none'"],
};

/** The Content-Security-Policy value: the base plus `directives`. */
export function contentSecurityPolicy(directives: CspDirectives): string {
  const all: Record<string, string[]> = { ...BASE };
  for (const [name, sources] of Object.entries(directives)) if (sources && sources.length > 0) all[name] = sources;
  return Object.entries(all)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}

/** Headers for every response of a page's own files (scripts included): no MIME sniffing, no Referer out. */
export const ASSET_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * Headers for an HTML page under `csp`. X-Frame-Options repeats frame-ancestors for browsers that predate
 * CSP level 2.
 */
export function pageHeaders(csp: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": csp,
    "x-frame-options": "DENY",
    ...ASSET_HEADERS,
  };
}
