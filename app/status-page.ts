/** A first status page: server-rendered, no build step, no external assets; reloads itself every 2 s. */
import type { StatsDocument } from "./stats.ts";

const escape = (value: unknown) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STATE_COLOURS: Record<string, string> = {
  running: "#1a7f37", starting: "#9a6700", stopping: "#9a6700", sleeping: "#57606a", idle: "#8c959f", failed: "#cf222e",
};

export function statusPage(stats: StatsDocument): string {
  const rows = stats.instances
    .map(
      (i) => `<tr><td>${escape(i.id)}</td><td style="color:${STATE_COLOURS[i.state] ?? "inherit"}">${escape(i.state)}</td>
<td>${i.connections}</td><td>${i.requests}</td><td>${i.coldStarts}</td><td>${i.wakes}</td>
<td>${escape(i.endpoint ?? "")}</td><td>${escape(i.lastActiveAt)}</td></tr>`,
    )
    .join("\n");
  const t = stats.totals;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="refresh" content="2">
<title>transcribe-edge status</title>
<style>body{font:14px system-ui,sans-serif;margin:1rem}table{border-collapse:collapse;width:100%}
td,th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}</style></head><body>
<h1>transcribe-edge</h1>
<p>mode <b>${escape(stats.mode)}</b> · driver <b>${escape(stats.driver)}</b> · open sessions <b>${t.openSessions}</b>
· sessions ${t.sessions} · cold starts ${t.coldStarts} · wakes ${t.wakes}${stats.draining ? " · <b>draining</b>" : ""}</p>
<table><thead><tr><th>instance</th><th>state</th><th>connections</th><th>requests</th><th>cold starts</th><th>wakes</th>
<th>endpoint</th><th>last active</th></tr></thead><tbody>
${rows || '<tr><td colspan="8">no instance yet: open a session on /v1/listen</td></tr>'}
</tbody></table></body></html>`;
}
