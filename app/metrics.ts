/**
 * `/metrics`: Prometheus text from prom-client, on the gateway's own Registry (never the global one, so two
 * gateways in one process, as in tests, never share or double-register series). Counters and histograms follow
 * the gateway's events (app/events.ts); gauges and byte counters are read from the state at scrape time.
 * Labels are bounded sets only (mode, reason, close code, start kind, state, direction): a session id, or an
 * instance id derived from one (`session-<hash>`), never becomes a label.
 */
import { Elysia } from "elysia";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { INSTANCE_STATES, type InstanceStateName } from "../runtime/instance-state.ts";
import type { GatewayState } from "./state.ts";
import { adminGuard } from "./security/admin-guard.ts";

/** Every metric of the gateway starts with this; default process metrics keep their conventional names. */
export const METRIC_PREFIX = "transcribe_edge_";

/** Container starts take 0.3-2 s on an engine and ~50-300 ms as a process; the top buckets catch slow pulls. */
const START_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];
/** Routing decisions run in microseconds (docs/performance.md); anything past 1 ms is a regression. */
const DECISION_BUCKETS_S = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2];
/** Sessions last from seconds (a test, a short clip) to hours (a meeting). */
const SESSION_BUCKETS_S = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400];

/** The gateway's metrics registry, fed by `state.events`; `unsubscribe` stops following them. */
export interface GatewayMetrics {
  registry: Registry;
  /** The text exposition (what GET /metrics serves). */
  render(): Promise<string>;
  contentType: string;
  unsubscribe(): void;
}

/** Creates the registry with every gateway metric plus prom-client's default process metrics. */
export function createMetrics(state: GatewayState): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
  const registers = [registry];

  new Gauge({
    name: name("open_sessions"),
    help: "Sessions relayed right now.",
    registers,
    collect() {
      this.set(state.relays.size);
    },
  });
  new Gauge({
    name: name("instances"),
    help: "Transcriber instances by lifecycle state.",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = Object.fromEntries(INSTANCE_STATES.map((s) => [s, 0])) as Record<InstanceStateName, number>;
      for (const instance of state.registry.list()) counts[instance.stateName]++;
      for (const s of INSTANCE_STATES) this.set({ state: s }, counts[s]);
    },
  });
  new Gauge({
    name: name("transcribers_refusing_sessions"),
    help: "Running transcriber instances a new session would be refused on now (their load report, their link or their machine).",
    registers,
    collect() {
      let refusing = 0;
      for (const instance of state.registry.list()) {
        if (instance.stateName === "running" && state.loads.refusal(instance.id)) refusing++;
      }
      this.set(refusing);
    },
  });
  new Gauge({
    name: name("machine_cpu_busy_max"),
    help: "The busiest machine's CPU share (0-1, all cores, for the last two seconds), as its transcribers report it; HOST_CPU_MAX refuses above it.",
    registers,
    collect() {
      this.set(state.loads.busiestMachine() ?? 0);
    },
  });
  new Gauge({
    name: name("draining"),
    help: "1 while the gateway refuses new sessions to shut down.",
    registers,
    collect() {
      this.set(state.draining ? 1 : 0);
    },
  });

  const sessions = new Counter({
    name: name("sessions_total"),
    help: "Sessions connected to a transcriber, by routing mode.",
    labelNames: ["mode"],
    registers,
  });
  const closes = new Counter({
    name: name("session_closes_total"),
    help: "Ended sessions by WebSocket close code.",
    labelNames: ["code"],
    registers,
  });
  const sessionSeconds = new Histogram({
    name: name("session_duration_seconds"),
    help: "Session length, open to close.",
    buckets: SESSION_BUCKETS_S,
    registers,
  });
  const waitSeconds = new Histogram({
    name: name("session_wait_seconds"),
    help: "Upgrade to Metadata: what a client waited for its transcriber, by how the instance was found (warm, wake, cold).",
    labelNames: ["start"],
    buckets: START_BUCKETS_S,
    registers,
  });
  const coldStart = new Histogram({
    name: name("cold_start_duration_seconds"),
    help: "First start of an instance until healthy.",
    buckets: START_BUCKETS_S,
    registers,
  });
  const wake = new Histogram({
    name: name("wake_duration_seconds"),
    help: "Start of a sleeping (or crashed) instance until healthy.",
    buckets: START_BUCKETS_S,
    registers,
  });
  const instanceFailures = new Counter({
    name: name("instance_failures_total"),
    help: "Instances that entered the failed state.",
    registers,
  });
  const decisions = new Counter({
    name: name("routing_decisions_total"),
    help: "Sessions routed to an instance, by mode.",
    labelNames: ["mode"],
    registers,
  });
  const decisionSeconds = new Histogram({
    name: name("routing_decision_duration_seconds"),
    help: "Time the routing strategy took to pick an instance.",
    labelNames: ["mode"],
    buckets: DECISION_BUCKETS_S,
    registers,
  });
  const rejections = new Counter({
    name: name("rejections_total"),
    help: "Sessions refused before the upgrade, by reason.",
    labelNames: ["reason"],
    registers,
  });
  const reloads = new Counter({
    name: name("config_reloads_total"),
    help: "SIGHUP configuration reloads by result (ok, error).",
    labelNames: ["result"],
    registers,
  });

  // Bytes of open sessions count as they flow, not only when a session ends: the sum over closed sessions
  // (kept by the state) plus the live relays' counters, which only grow, so the counter stays monotonic.
  const reported = { in: 0, out: 0 };
  new Counter({
    name: name("relayed_bytes_total"),
    help: "Bytes relayed: direction in = client to transcriber, out = transcriber to client.",
    labelNames: ["direction"],
    registers,
    collect() {
      const total = { in: state.sessions.bytesIn, out: state.sessions.bytesOut };
      for (const relay of state.relays) {
        total.in += relay.bytesIn;
        total.out += relay.bytesOut;
      }
      for (const direction of ["in", "out"] as const) {
        // inc by 0 still exposes the series, so a dashboard sees 0 before the first byte.
        this.inc({ direction }, Math.max(0, total[direction] - reported[direction]));
        reported[direction] = Math.max(reported[direction], total[direction]);
      }
    },
  });

  const unsubscribe = state.events.on((event) => {
    switch (event.type) {
      case "routed":
        decisions.inc({ mode: state.selector.mode });
        decisionSeconds.observe({ mode: state.selector.mode }, event.decisionUs / 1e6);
        return;
      case "rejected":
        rejections.inc({ reason: event.reason });
        return;
      case "session_opened":
        sessions.inc({ mode: state.selector.mode });
        waitSeconds.observe({ start: event.start }, event.waitMs / 1000);
        return;
      case "session_closed":
        closes.inc({ code: String(event.code) });
        sessionSeconds.observe(event.durationMs / 1000);
        return;
      case "instance":
        if (event.start) (event.start.kind === "cold" ? coldStart : wake).observe(event.start.ms / 1000);
        if (event.to === "failed") instanceFailures.inc();
        return;
      case "config_reloaded":
        reloads.inc({ result: "ok" });
        return;
      case "config_reload_failed":
        reloads.inc({ result: "error" });
        return;
    }
  });

  return { registry, render: () => registry.metrics(), contentType: registry.contentType, unsubscribe };
}

/** `GET /metrics`, behind ADMIN_TOKEN when it is set (Prometheus sends it with `authorization.credentials`). */
export function metricsRoute(state: GatewayState, metrics: GatewayMetrics) {
  const guard = adminGuard(() => state.config.adminToken);
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async ({ request }) => guard(request) ?? new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } }),
  );
}
