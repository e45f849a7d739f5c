/**
 * Several engine hosts (test/engine-hosts.ts: three Podman API services on this machine, each with its own
 * storage). Cold start p50 through a gateway placing over three hosts vs over one of them (same run, same
 * hosts), one after another and as a burst; then a host's death: time to its sessions' 1012 and to their
 * reconnects being served on another host, once with the host frozen (a partition, a dead machine: nothing
 * answers) and once killed (its containers' sockets reset at once).
 */
import { EngineHostsHarness, type HostLoss } from "../../test/engine-hosts.ts";
import { startGateway, type GatewayProcess } from "../procs.ts";
import type { Report } from "../report.ts";
import { summarize } from "../stats.ts";

const QUERY = "encoding=opus&sample_rate=48000&channels=1";
/** How long a client waits before reconnecting after a refusal or a 1013 (a client's usual short backoff). */
const RECONNECT_PAUSE_MS = 50;

interface Opened {
  ws: WebSocket;
  metadata: any;
  closed: Promise<{ code: number; atMs: number }>;
}

/** Opens a session and resolves once its Metadata came (rejects on a close before it). */
function open(gateway: GatewayProcess, sessionId: string): Promise<Opened> {
  const ws = new WebSocket(`${gateway.listenUrl}?sessionId=${sessionId}&${QUERY}`);
  const closed = new Promise<{ code: number; atMs: number }>((resolve) =>
    ws.addEventListener("close", (e) => resolve({ code: e.code, atMs: performance.now() })),
  );
  return new Promise((resolve, reject) => {
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      if (message.type === "Metadata") resolve({ ws, metadata: message, closed });
    });
    void closed.then(({ code }) => reject(new Error(`${sessionId}: closed ${code} before Metadata`)));
    ws.addEventListener("error", () => reject(new Error(`${sessionId}: refused`)));
  });
}

/** Retries `open` until a session is served; resolves when it is (performance.now()). */
async function openUntilServed(gateway: GatewayProcess, sessionId: string, deadlineMs = 30_000): Promise<Opened & { servedAtMs: number }> {
  const giveUpAt = performance.now() + deadlineMs;
  for (;;) {
    try {
      const opened = await open(gateway, sessionId);
      return { ...opened, servedAtMs: performance.now() };
    } catch (error) {
      if (performance.now() > giveUpAt) throw error;
      await Bun.sleep(RECONNECT_PAUSE_MS);
    }
  }
}

async function coldStarts(report: Report, key: string, gateway: GatewayProcess, count: number): Promise<void> {
  const sequential: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const { ws } = await open(gateway, `cold-${i}`);
    sequential.push(performance.now() - t0);
    ws.close();
  }
  const t0 = performance.now();
  const burst = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const { ws } = await open(gateway, `burst-${i}`);
      ws.close();
      return performance.now() - t0;
    }),
  );
  const s = summarize(sequential);
  const b = summarize(burst);
  report.set(`hosts.cold_start_ms.${key}`, { p50: s.p50, p95: s.p95, n: s.n, burst6_p50: b.p50, burst6_max: b.max });
}

async function hostLoss(report: Report, hosts: EngineHostsHarness, loss: HostLoss): Promise<void> {
  const gateway = await startGateway({
    ROUTING_MODE: "session",
    CONTAINER_NETWORK: "host",
    TRANSCRIBER_BACKEND: "echo",
    HOST_CPU_MAX: "1", // as for the cold starts: this measures the failover, not the admission
    ENGINE_HOSTS: hosts.engineHostsValue(),
  });
  try {
    const ids = Array.from({ length: 6 }, (_, i) => `loss-${loss}-${i}`);
    const sessions = await Promise.all(ids.map((id) => open(gateway, id)));
    const stats = await gateway.stats();
    const hostOf = new Map<string, string>(stats.instances.map((i: any) => [i.id, i.host]));
    const onH2 = ids.filter((_, i) => hostOf.get(sessions[i]!.metadata.container) === "h2");
    const { lostAtMs, pids } = await hosts.lose("h2", loss);
    const results = await Promise.all(
      onH2.map(async (id) => {
        const closed = await sessions[ids.indexOf(id)]!.closed;
        const served = await openUntilServed(gateway, id);
        served.ws.close();
        return { code: closed.code, to1012Ms: closed.atMs - lostAtMs, toServedMs: served.servedAtMs - lostAtMs };
      }),
    );
    const after = await gateway.stats();
    const hostNow = new Map<string, string>(after.instances.map((i: any) => [i.id, i.host]));
    const elsewhere = onH2.every((id) => {
      const host = hostNow.get(sessions[ids.indexOf(id)]!.metadata.container);
      return host !== undefined && host !== "h2";
    });
    report.set(`hosts.loss.${loss}`, {
      sessions: results.length,
      codes: [...new Set(results.map((r) => r.code))],
      to_1012_ms_max: Math.round(Math.max(...results.map((r) => r.to1012Ms))),
      to_served_elsewhere_ms_max: Math.round(Math.max(...results.map((r) => r.toServedMs))),
      served_elsewhere: elsewhere,
    });
    for (const session of sessions) session.ws.close();
    await hosts.restore("h2", pids);
  } finally {
    await gateway.stop();
  }
}

/** The hosts section: `count` sequential cold starts per layout, then both kinds of host loss. */
export async function hostsSection(report: Report, { quick }: { quick: boolean }): Promise<void> {
  const hosts = await EngineHostsHarness.start(["h1", "h2", "h3"]);
  try {
    const count = quick ? 5 : 12;
    // The first container on a fresh storage root pays for mounting the image's layers: warm every host first,
    // so both layouts are measured on warm hosts.
    const warm = await startGateway({
      ROUTING_MODE: "session",
      CONTAINER_NETWORK: "host",
      TRANSCRIBER_BACKEND: "echo",
      ENGINE_HOSTS: hosts.engineHostsValue(),
    });
    try {
      for (const opened of await Promise.all([0, 1, 2].map((i) => open(warm, `warm-${i}`)))) opened.ws.close();
    } finally {
      await warm.stop();
    }
    for (const [key, value] of [
      ["one_host", hosts.engineHostsValue().split(",")[0]!],
      ["three_hosts", hosts.engineHostsValue()],
    ] as const) {
      report.progress(`cold starts over ${key.replace("_", " ")}: ${count} one after another, then a burst of 6`);
      const gateway = await startGateway({
        ROUTING_MODE: "session",
        CONTAINER_NETWORK: "host",
        TRANSCRIBER_BACKEND: "echo",
        // Three engine services starting containers back to back keep these two cores over 90 % busy for
        // seconds, which HOST_CPU_MAX would refuse: this measures the starts, not the admission.
        HOST_CPU_MAX: "1",
        MAX_INSTANCES: "40",
        ENGINE_HOSTS: value,
      });
      try {
        await coldStarts(report, key, gateway, count);
      } finally {
        await gateway.stop();
      }
    }
    for (const loss of ["freeze", "kill"] as const) {
      report.progress(`host loss (${loss}): 6 sessions over 3 hosts, h2 lost, its clients reconnect at once`);
      await hostLoss(report, hosts, loss);
    }
  } finally {
    await hosts.stop();
  }
}
