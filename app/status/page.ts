/**
 * The status page at `GET /`: one HTML document with its CSS and script inline (no build step, no external
 * asset). It renders the snapshot embedded at load, then every snapshot pushed on `GET /status/events` (SSE).
 *
 * Stable DOM hooks (browser tests and operators' scripts rely on these; keep them when restyling):
 * - `body[data-live]`: `connecting` | `live` (event stream open) | `reconnecting` | `unsupported`.
 * - `body[data-snapshots]`: how many snapshots the page has rendered (the embedded one counts as 1); wait
 *   for it to grow to see a push arrive.
 * - `#mode`, `#driver`: routing mode and container driver; `#draining` is shown only while draining.
 * - `#gateway`: the GATEWAY_ID serving the page; `#store-kind`: memory | redis; `#store-unavailable` ("store
 *   unavailable") is shown only while the routing store cannot be reached, and `body[data-store]` is
 *   `available` | `unavailable`.
 * - `#gateways tbody tr[data-gateway-id=ID][data-self=true|false]`, one per gateway of the cluster (the one
 *   serving the page has data-self=true and a `.self-mark`), cells `td[data-field=F]` for F in id, sessions,
 *   lastSeen, address; `#gateways-count` is how many.
 * - `#totals [data-total=KEY]` for KEY in openSessions, sessions, connections, requests, coldStarts, wakes,
 *   running (text is the number); `#rejections`, `#close-codes`: "reason n, ..." / "code: n, ..." or "none".
 * - `#config dd[data-config-key=NAME]`: each configuration value (publicConfig names, e.g. containerPoolSize).
 * - `#instances tbody tr[data-instance-id=ID][data-state=STATE]`, one per instance, with cells
 *   `td[data-field=F]` for F in id, state, connections (cluster-wide), requests, coldStarts, wakes, lastActive,
 *   uptime, byGateway ("gw-a 2, gw-b 1", or "-"), host (the engine host's short name with ENGINE_HOSTS, else "-"),
 *   load (the transcriber's own report: "lag 3 ms, CPU 12 %", "full: <why>" when it takes no session, or "-");
 *   `#instances-empty` is shown while there is no instance.
 * - `#feed li[data-kind=K][data-seq=N]` newest first, K one of started, woke, stopped, failed, rejected,
 *   reloaded, reload_failed (`data-instance-id` on instance entries); `#feed-empty` while empty.
 * - `canvas#chart-sessions` (open sessions over time) and `canvas#chart-starts` (start and wake latency), each
 *   with `data-points` = points drawn.
 * - With ADMIN_TOKEN set and no credential: a 401 login page with `form#login-form` (POST /login) and
 *   `input#login-token` (`name=token`); `#login-error` after a wrong token. Logged in, `form#logout-form`
 *   (POST /logout) in the header.
 *
 * Both pages run under a Content-Security-Policy without 'unsafe-inline': the inline script and stylesheet are
 * allowed by their SHA-256, computed here from the very strings the pages embed, so editing them keeps the
 * policy right. Anything else inline (a `style=` or `on...=` attribute, another <script>) is refused by the
 * browser: page-policy.test.ts fails on it.
 */
import { ADMIN_SESSION_TTL_MS } from "../security/admin-session.ts";
import { contentSecurityPolicy, sha256Source } from "../security/page-policy.ts";
import type { StatusSnapshot } from "./hub.ts";
import { STATUS_SCRIPT } from "./script.ts";
import { STATUS_CSS } from "./style.ts";

/** The status page's policy: its own script and style, its event stream (same origin), the logout form. */
export const STATUS_PAGE_CSP = contentSecurityPolicy({
  "script-src": [sha256Source(STATUS_SCRIPT)],
  "style-src": [sha256Source(STATUS_CSS)],
  "connect-src": ["'self'"],
  "form-action": ["'self'"],
});

/** The login page's policy: no script at all, its style, and the form posting to this gateway. */
export const LOGIN_PAGE_CSP = contentSecurityPolicy({
  "style-src": [sha256Source(STATUS_CSS)],
  "form-action": ["'self'"],
});

/** HTML text with `&<>"'` escaped. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element (no `</script>` or `<!--` can close or confuse it). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const HEAD = `<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><title>transcribe-edge status</title><style>${STATUS_CSS}</style>`;

const TOTAL_LABELS: Array<[string, string]> = [
  ["openSessions", "open sessions"],
  ["sessions", "sessions"],
  ["connections", "connections"],
  ["requests", "requests"],
  ["coldStarts", "cold starts"],
  ["wakes", "wakes"],
  ["running", "running"],
];

/**
 * The status page with `snapshot` embedded, so it shows data before the event stream connects; `logout` adds
 * the logout form (when ADMIN_TOKEN is set).
 */
export function statusPageHtml(snapshot: StatusSnapshot, options: { logout?: boolean } = {}): string {
  const logout = options.logout
    ? `<form id="logout-form" method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>`
    : "";
  const totals = TOTAL_LABELS.map(([key, label]) => `<div><dt>${label}</dt><dd data-total="${key}">-</dd></div>`).join("");
  return `<!doctype html><html lang="en"><head>${HEAD}</head><body data-live="connecting" data-snapshots="0">
<header><h1>transcribe-edge</h1>
<span class="pill">mode <b id="mode">-</b></span><span class="pill">driver <b id="driver">-</b></span>
<span class="pill">gateway <b id="gateway">-</b></span><span class="pill">store <b id="store-kind">-</b></span>
<span id="store-unavailable" role="status" hidden>store unavailable</span>
<span id="draining" hidden>draining</span>
<span class="pill" id="live-indicator">updated <span id="updated">-</span></span>${logout}</header>
<noscript><p>This page needs JavaScript to stay live; <a href="/stats">/stats</a> has the same data as JSON.</p></noscript>
<div class="grid">
<section aria-labelledby="h-totals"><h2 id="h-totals">Totals</h2><dl id="totals">${totals}</dl>
<p class="muted">rejections: <span id="rejections">none</span><br>close codes: <span id="close-codes">none</span></p></section>
<section aria-labelledby="h-sessions"><h2 id="h-sessions">Open sessions</h2><canvas id="chart-sessions" data-points="0" role="img" aria-label="open sessions over time"></canvas></section>
<section aria-labelledby="h-starts"><h2 id="h-starts">Start latency</h2><canvas id="chart-starts" data-points="0" role="img" aria-label="start and wake latency"></canvas>
<p class="legend"><b class="cold">&#9679; cold start</b> &nbsp; <b class="wake">&#9679; wake</b></p></section>
</div>
<section aria-labelledby="h-instances" class="wide"><h2 id="h-instances">Instances</h2>
<table id="instances"><thead><tr><th>instance</th><th>state</th><th>connections</th><th>requests</th><th>cold starts</th>
<th>wakes</th><th>last active</th><th>uptime</th><th>by gateway</th><th>engine host</th><th>transcriber load</th></tr></thead><tbody>
<tr id="instances-empty"><td colspan="9" class="muted">no instance yet: open a session on /v1/listen</td></tr></tbody></table></section>
<section aria-labelledby="h-gateways" class="wide"><h2 id="h-gateways">Gateways (<span id="gateways-count">-</span>)</h2>
<table id="gateways"><thead><tr><th>gateway</th><th>sessions</th><th>last seen</th><th>address</th></tr></thead><tbody></tbody></table></section>
<div class="grid">
<section aria-labelledby="h-feed"><h2 id="h-feed">Recent events</h2><p id="feed-empty" class="muted">nothing yet</p><ul id="feed"></ul></section>
<section aria-labelledby="h-config"><h2 id="h-config">Configuration</h2><dl id="config"></dl></section>
</div>
<script type="application/json" id="initial-snapshot">${scriptJson(snapshot)}</script>
<script>${STATUS_SCRIPT}</script></body></html>`;
}

/** The 401 page shown instead when ADMIN_TOKEN is set and the browser has not logged in; `error` after a failed try. */
export function loginPageHtml(error?: string): string {
  const alert = error ? `<p id="login-error" role="alert">${escapeHtml(error)}</p>` : "";
  return `<!doctype html><html lang="en"><head>${HEAD}</head><body>
<h1>transcribe-edge</h1><p>This status page needs the gateway's admin token (ADMIN_TOKEN).</p>${alert}
<form id="login-form" method="post" action="/login">
<input id="login-token" name="token" type="password" autocomplete="current-password" placeholder="admin token" required>
<button type="submit">Open status page</button></form>
<p class="muted">The browser keeps a signed login for this gateway (an HttpOnly cookie, ${ADMIN_SESSION_TTL_MS / 3_600_000} hours), never the token.</p>
</body></html>`;
}
