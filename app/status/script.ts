/**
 * The status page's own script (plain browser JS, inlined): renders each snapshot pushed on
 * `/status/events` into the DOM hooks documented in page.ts and draws the two charts on <canvas>; the cluster's
 * part comes from cluster-script.ts, in the same scope. Written without template literals so it can live inside
 * this TS template string untouched.
 */
import { CLUSTER_SCRIPT } from "./cluster-script.ts";

export const STATUS_SCRIPT = String.raw`
"use strict";
(function () {
  var STATES = ["idle", "starting", "running", "stopping", "sleeping", "failed"];
  var TOTALS = ["openSessions", "sessions", "connections", "requests", "coldStarts", "wakes", "running"];
  var FIELDS = [["id", "instance"], ["state", "state"], ["connections", "connections"], ["requests", "requests"],
    ["coldStarts", "cold starts"], ["wakes", "wakes"], ["lastActive", "last active"], ["uptime", "uptime"],
    ["byGateway", "by gateway"], ["host", "engine host"], ["load", "transcriber load"]];
  var body = document.body;
  var skewMs = 0;
  var last = null;
  var count = 0;

  function $(id) { return document.getElementById(id); }
  function loadText(load) {
    if (!load) return "-";
    var text = "lag " + load.eventLoopLagMs + " ms, CPU " + Math.round(load.cpuShare * 100) + " %";
    if (typeof load.hostCpuBusy === "number") text += ", machine " + Math.round(load.hostCpuBusy * 100) + " %";
    return load.accepting ? text : "full: " + (load.limit || text);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function ago(iso, nowMs) {
    if (!iso) return "-";
    var s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
    return duration(s) + " ago";
  }
  function duration(s) {
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " m " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " m";
  }
  function now() { return Date.now() + skewMs; }

  function renderHeader(snap) {
    $("mode").textContent = snap.mode;
    $("driver").textContent = snap.driver;
    $("draining").hidden = !snap.draining;
    var t = snap.totals;
    TOTALS.forEach(function (key) {
      var node = document.querySelector('#totals [data-total="' + key + '"]');
      if (node) node.textContent = String(t[key]);
    });
    var rej = Object.keys(t.rejections).map(function (k) { return k + " " + t.rejections[k]; }).join(", ");
    $("rejections").textContent = rej || "none";
    var codes = Object.keys(t.closeCodes).map(function (k) { return k + ": " + t.closeCodes[k]; }).join(", ");
    $("close-codes").textContent = codes || "none";
  }

  function renderConfig(snap) {
    var dl = $("config");
    var key = JSON.stringify(snap.config);
    if (dl.getAttribute("data-rendered") === key) return;
    dl.setAttribute("data-rendered", key);
    dl.textContent = "";
    Object.keys(snap.config).forEach(function (name) {
      var value = snap.config[name];
      dl.appendChild(el("dt", {}, name));
      dl.appendChild(el("dd", { "data-config-key": name }, value === undefined || value === null ? "-" : String(value)));
    });
  }

  function renderInstances(snap) {
    var tbody = document.querySelector("#instances tbody");
    var rows = {};
    Array.prototype.forEach.call(tbody.querySelectorAll("tr[data-instance-id]"), function (tr) {
      rows[tr.getAttribute("data-instance-id")] = tr;
    });
    $("instances-empty").hidden = snap.instances.length > 0;
    snap.instances.forEach(function (i) {
      var tr = rows[i.id];
      delete rows[i.id];
      if (!tr) {
        tr = el("tr", { "data-instance-id": i.id });
        FIELDS.forEach(function (f) { tr.appendChild(el("td", { "data-field": f[0], "data-label": f[1] })); });
        tbody.appendChild(tr);
      }
      tr.setAttribute("data-state", i.state);
      tr.setAttribute("data-started-at", i.startedAt || "");
      tr.setAttribute("data-last-active-at", i.lastActiveAt || "");
      var values = { id: i.id, state: i.state, connections: i.connections, requests: i.requests,
        coldStarts: i.coldStarts, wakes: i.wakes, byGateway: byGatewayText(i.connectionsByGateway), host: i.host || "-",
        load: loadText(i.load) };
      Object.keys(values).forEach(function (k) { tr.querySelector('[data-field="' + k + '"]').textContent = String(values[k]); });
      if (i.lastError) tr.title = i.lastError; else tr.removeAttribute("title");
    });
    Object.keys(rows).forEach(function (id) { rows[id].remove(); });
    tickTimes();
  }

  function tickTimes() {
    var n = now();
    Array.prototype.forEach.call(document.querySelectorAll("#instances tr[data-instance-id]"), function (tr) {
      var started = tr.getAttribute("data-started-at");
      var running = tr.getAttribute("data-state") === "running";
      tr.querySelector('[data-field="lastActive"]').textContent = ago(tr.getAttribute("data-last-active-at"), n);
      tr.querySelector('[data-field="uptime"]').textContent =
        running && started ? duration(Math.max(0, Math.round((n - Date.parse(started)) / 1000))) : "-";
    });
  }

  function renderFeed(snap) {
    var ul = $("feed");
    ul.textContent = "";
    snap.feed.forEach(function (entry) {
      var li = el("li", { "data-kind": entry.kind, "data-seq": String(entry.seq) });
      if (entry.instanceId) li.setAttribute("data-instance-id", entry.instanceId);
      li.appendChild(el("time", { datetime: new Date(entry.atMs).toISOString() }, new Date(entry.atMs).toLocaleTimeString()));
      li.appendChild(document.createTextNode(entry.text));
      ul.appendChild(li);
    });
    $("feed-empty").hidden = snap.feed.length > 0;
  }

${CLUSTER_SCRIPT}
  function colour(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888"; }

  function canvasContext(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx: ctx, w: w, h: h };
  }

  function axes(c, maxY, unit, fromMs, toMs) {
    var ctx = c.ctx;
    ctx.strokeStyle = colour("--line");
    ctx.fillStyle = colour("--muted");
    ctx.beginPath();
    ctx.moveTo(36, 4); ctx.lineTo(36, c.h - 16); ctx.lineTo(c.w - 4, c.h - 16);
    ctx.stroke();
    ctx.fillText(String(maxY) + unit, 2, 12);
    ctx.fillText("0", 2, c.h - 16);
    ctx.fillText(duration(Math.round((toMs - fromMs) / 1000)) + " ago", 38, c.h - 3);
    ctx.fillText("now", c.w - 26, c.h - 3);
  }

  function drawSessions(snap) {
    var canvas = $("chart-sessions");
    var points = snap.series.sessions;
    canvas.setAttribute("data-points", String(points.length));
    var c = canvasContext(canvas);
    if (points.length === 0) return;
    var toMs = snap.nowMs, fromMs = Math.min(points[0].atMs, toMs - 60000);
    var maxY = Math.max(1, Math.max.apply(null, points.map(function (p) { return p.open; })));
    axes(c, maxY, "", fromMs, toMs);
    var x = function (t) { return 36 + ((t - fromMs) / Math.max(1, toMs - fromMs)) * (c.w - 40); };
    var y = function (v) { return c.h - 16 - (v / maxY) * (c.h - 22); };
    var ctx = c.ctx;
    ctx.strokeStyle = colour("--running");
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(function (p, i) {
      if (i === 0) ctx.moveTo(x(p.atMs), y(p.open));
      else { ctx.lineTo(x(p.atMs), y(points[i - 1].open)); ctx.lineTo(x(p.atMs), y(p.open)); }
    });
    ctx.lineTo(x(toMs), y(points[points.length - 1].open));
    ctx.stroke();
    ctx.lineWidth = 1;
  }

  function drawStarts(snap) {
    var canvas = $("chart-starts");
    var points = snap.series.starts;
    canvas.setAttribute("data-points", String(points.length));
    var c = canvasContext(canvas);
    if (points.length === 0) {
      c.ctx.fillStyle = colour("--muted");
      c.ctx.fillText("no start yet", 40, c.h / 2);
      return;
    }
    var maxY = Math.max(1, Math.ceil(Math.max.apply(null, points.map(function (p) { return p.ms; }))));
    axes(c, maxY, " ms", points[0].atMs, snap.nowMs);
    var step = (c.w - 44) / Math.max(1, points.length - 1);
    points.forEach(function (p, i) {
      var bx = 40 + i * step, by = c.h - 16 - (p.ms / maxY) * (c.h - 22);
      c.ctx.fillStyle = colour(p.kind === "cold" ? "--cold" : "--wake");
      c.ctx.beginPath();
      c.ctx.arc(bx, by, 3.5, 0, Math.PI * 2);
      c.ctx.fill();
    });
  }

  function render(snap) {
    last = snap;
    skewMs = snap.nowMs - Date.now();
    renderHeader(snap);
    renderCluster(snap);
    renderConfig(snap);
    renderInstances(snap);
    renderFeed(snap);
    drawSessions(snap);
    drawStarts(snap);
    count++;
    body.setAttribute("data-snapshots", String(count));
    $("updated").textContent = new Date(snap.nowMs).toLocaleTimeString();
  }

  var initial = $("initial-snapshot");
  if (initial) render(JSON.parse(initial.textContent));
  setInterval(tickTimes, 1000);
  window.addEventListener("resize", function () { if (last) { drawSessions(last); drawStarts(last); } });

  if (!window.EventSource) { body.setAttribute("data-live", "unsupported"); return; }
  body.setAttribute("data-live", "connecting");
  var source = new EventSource("/status/events");
  source.addEventListener("snapshot", function (e) {
    body.setAttribute("data-live", "live");
    render(JSON.parse(e.data));
  });
  source.onerror = function () { body.setAttribute("data-live", "reconnecting"); };
})();
`;
