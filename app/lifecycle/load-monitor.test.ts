/**
 * The early refusal end to end, on real transcriber processes: a transcriber whose event loop falls behind says so
 * on its /health (transcriber/load-meter.ts), the gateway reads it (load-monitor.ts), and the next session routed
 * there is refused 503 transcriber_overloaded + Retry-After before the upgrade while the open one goes on; once the
 * transcriber keeps up again, sessions are taken again. The lag is made by stopping the process (SIGSTOP) in short
 * bursts, as a CPU-starved container would stall.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpus } from "node:os";
import { TestClient } from "../../test/client.ts";
import { startTestGateway, type TestGateway } from "../../test/gateway.ts";
import { tryUpgrade } from "../faults/gateway-process.ts";
import { pollUntil } from "../../test/wait.ts";

let gw: TestGateway;
let autoscale: TestGateway | undefined;
beforeAll(async () => {
  gw = await startTestGateway({ ROUTING_MODE: "shared", CONTAINER_DRIVER: "process", TRANSCRIBER_BACKEND: "echo" });
});
afterAll(async () => {
  await gw?.stop();
  await autoscale?.stop();
});

/** Stops and resumes `pid` (300 ms of every 500) until the returned function is called, as a CPU-starved container stalls. */
function stallInBursts(pid: number): () => Promise<void> {
  let stalling = true;
  const stalls = (async () => {
    while (stalling) {
      process.kill(pid, "SIGSTOP");
      await Bun.sleep(300);
      process.kill(pid, "SIGCONT");
      await Bun.sleep(200);
    }
  })();
  return async () => {
    stalling = false;
    await stalls;
  };
}

/** Autoscale over echo transcriber processes: one kept running, room for one more. */
const AUTOSCALE = {
  ROUTING_MODE: "autoscale",
  MIN_CONTAINERS: "1",
  MAX_INSTANCES: "2",
  MAX_CONNECTIONS_PER_CONTAINER: "10",
  CONTAINER_DRIVER: "process",
  TRANSCRIBER_BACKEND: "echo",
};

const pidOf = (containerId: string | null | undefined) => Number(String(containerId).replace("pid:", ""));

/** Whether a new session's upgrade is taken (101) within `ms`, trying every 100 ms. */
async function acceptedWithin(listenUrl: string, idPrefix: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await tryUpgrade(listenUrl, `sessionId=${idPrefix}-${Date.now()}`)).status === 101) return true;
    await Bun.sleep(100);
  }
  return false;
}

test("a transcriber that reports it cannot keep up refuses new sessions with 503 before the upgrade; the open one goes on", async () => {
  const open = TestClient.connect(`${gw.listenUrl}?sessionId=load-open`);
  await open.next("Metadata", 15_000);
  const stats = await (await fetch(`${gw.httpUrl}/stats`)).json();
  const pid = pidOf(stats.instances.find((i: { state: string }) => i.state === "running").containerId);

  // Stalls of 300 ms every 500 ms for up to 8 s: every load window of the transcriber sees > 100 ms of lag, and
  // three such windows in a row are an overload.
  const stopStalls = stallInBursts(pid);
  let refusal: { status: number; retryAfter: string | null; body: string } | undefined;
  const deadline = Date.now() + 8_000;
  while (!refusal && Date.now() < deadline) {
    const attempt = await tryUpgrade(gw.listenUrl, `sessionId=load-${Date.now()}`);
    if (attempt.status === 503) refusal = attempt;
    await Bun.sleep(100);
  }
  await stopStalls();
  expect(refusal?.body).toContain("cannot keep up");
  expect(Number(refusal?.retryAfter)).toBeGreaterThan(0);
  expect(gw.gateway.state.rejections.transcriber_overloaded).toBeGreaterThanOrEqual(1);

  // The open session was never cut: it still echoes.
  open.send(new Uint8Array(10));
  await open.until(() => open.binary.length === 1, 5_000, "the echo after the stalls");
  // Keeping up again: a new session is taken within a few load windows.
  expect(await acceptedWithin(gw.listenUrl, "load-again", 6_000)).toBe(true);
  open.send({ type: "CloseStream" });
  expect((await open.closed).code).toBe(1000);
}, 30_000);

test("autoscale passes over a transcriber that cannot keep up: the next session starts another instance, not a 503", async () => {
  autoscale = await startTestGateway(AUTOSCALE);
  const open = TestClient.connect(`${autoscale.listenUrl}?sessionId=held`);
  expect((await open.next("Metadata", 15_000)).container).toBe("auto-0");
  const pid = pidOf(autoscale.gateway.state.registry.get("auto-0").containerId);
  const stopStalls = stallInBursts(pid);
  try {
    const loads = autoscale.gateway.state.loads;
    await pollUntil(() => loads.refusal("auto-0") !== undefined, "the gateway to read auto-0's overload", 8_000, 50);
    const next = TestClient.connect(`${autoscale.listenUrl}?sessionId=next`);
    expect((await next.next("Metadata", 15_000)).container).toBe("auto-1");
    next.send({ type: "CloseStream" });
    expect((await next.closed).code).toBe(1000);
  } finally {
    await stopStalls();
  }
  open.send({ type: "CloseStream" });
  expect((await open.closed).code).toBe(1000);
}, 30_000);

test("a transcriber that stops reading its link is refused new sessions once the link has been behind a second; the open one is not cut", async () => {
  // A small limit, so the backlog builds in a second: behind at 64 KiB, the relay pauses its client at 128 KiB, and
  // the link would shed its newest session (this one) only after 5 s paused or past 256 KiB.
  const small = await startTestGateway({
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    BACKPRESSURE_LIMIT_BYTES: String(256 * 1024),
  });
  try {
    const open = TestClient.connect(`${small.listenUrl}?sessionId=link-open`);
    await open.next("Metadata", 15_000);
    const containerId = small.gateway.state.registry.get("shared").containerId!;
    const pid = pidOf(containerId);
    await Bun.sleep(1_200); // a fresh report that says "accepting": what refuses here is the link, not the report
    process.kill(pid, "SIGSTOP");
    let refusal: { status: number; body: string } | undefined;
    let sent = 0;
    try {
      const frame = new Uint8Array(16 * 1024);
      const deadline = Date.now() + 4_000;
      while (!refusal && Date.now() < deadline) {
        // 16 KiB every 20 ms fills the kernel's buffers towards the stopped process, then the link's; held at
        // 128 KiB, over the mark and under the limit, as a transcriber falling behind slowly would hold it.
        if ((small.gateway.state.links.backlog(containerId)?.bytes ?? 0) < 128 * 1024) {
          open.send(frame);
          sent++;
        }
        const attempt = await tryUpgrade(small.listenUrl, `sessionId=link-${Date.now()}`);
        if (attempt.status === 503) refusal = attempt;
        await Bun.sleep(20);
      }
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(refusal?.body).toContain("its link is behind");
    expect(small.gateway.state.rejections.transcriber_overloaded).toBeGreaterThanOrEqual(1);
    // Every frame comes back once the transcriber reads again: the open session was never cut.
    await open.until(() => open.binary.length === sent, 10_000, `${sent} echoes after the stall`);
    expect(await acceptedWithin(small.listenUrl, "link-again", 5_000)).toBe(true);
    open.send({ type: "CloseStream" });
    expect((await open.closed).code).toBe(1000);
  } finally {
    await small.stop();
  }
}, 40_000);

/** Keeps `count` cores of this machine busy for up to `ms` (each burner also stops by itself); returns a stop. */
function burnCores(count: number, ms: number): () => Promise<void> {
  const code = `const end = Date.now() + ${ms}; while (Date.now() < end) {}`;
  const burners = Array.from({ length: count }, () => Bun.spawn([process.execPath, "-e", code], { stdout: "ignore" }));
  return async () => {
    for (const burner of burners) burner.kill();
    await Promise.all(burners.map((burner) => burner.exited));
  };
}

/** Every core busy, and one burner more. */
const burnEveryCore = (ms: number) => burnCores(cpus().length + 1, ms);

test("a machine whose CPU is all taken refuses new sessions with 503 naming HOST_CPU_MAX; autoscale starts no container there; the open one goes on", async () => {
  const busy = await startTestGateway({ ...AUTOSCALE, HOST_CPU_MAX: "0.8" });
  const stopBurning = burnEveryCore(12_000);
  try {
    const open = TestClient.connect(`${busy.listenUrl}?sessionId=machine-open`);
    expect((await open.next("Metadata", 15_000)).container).toBe("auto-0");
    const loads = busy.gateway.state.loads;
    await pollUntil(
      () => loads.refusal("auto-0")?.message.includes("machine's CPU") ?? false,
      "auto-0's report of a full machine",
      9_000,
      50,
    );
    expect(loads.latest("auto-0")?.hostCpuBusy).toBeGreaterThan(0.8);
    const refused = await tryUpgrade(busy.listenUrl, "sessionId=machine-next");
    expect(refused.status).toBe(503);
    expect(refused.body).toContain("no machine has CPU for another session (container auto-1 has no load report yet");
    expect(refused.body).toContain("over HOST_CPU_MAX=0.8");
    expect(busy.gateway.state.registry.list().map((instance) => instance.id)).toEqual(["auto-0"]);
    // The open session still echoes on the full machine.
    open.send(new Uint8Array(10));
    await open.until(() => open.binary.length === 1, 5_000, "the echo while the machine is full");
    await stopBurning();
    expect(await acceptedWithin(busy.listenUrl, "machine-again", 6_000)).toBe(true);
    open.send({ type: "CloseStream" });
    expect((await open.closed).code).toBe(1000);
  } finally {
    await stopBurning();
    await busy.stop();
  }
}, 40_000);

test("a burst past the room a machine's figure leaves is refused at the mark once the gateway has learned what a session costs there; the sessions taken go on", async () => {
  const gateway = await startTestGateway({
    ROUTING_MODE: "shared",
    CONTAINER_DRIVER: "process",
    TRANSCRIBER_BACKEND: "echo",
    MAX_CONNECTIONS_PER_CONTAINER: "100",
    HOST_CPU_MAX: "0.9",
  });
  const loads = gateway.gateway.state.loads;
  const clients: TestClient[] = [];
  let stopBurning = async () => {};
  try {
    // The transcriber up, then a figure of the machine with no session on it (what it does idle).
    const first = TestClient.connect(`${gateway.listenUrl}?sessionId=burst-first`);
    await first.next("Metadata", 15_000);
    first.send({ type: "CloseStream" });
    await first.closed;
    await pollUntil(() => loads.machines().some((m) => m.sessions === 0), "a figure of the machine idle", 5_000, 50);
    // Twenty sessions on a machine that half the cores' worth of other work keeps busy: the gateway learns a cost
    // per session from the figure over those twenty (the other work counted as theirs: an upper bound).
    stopBurning = burnCores(Math.max(1, Math.floor(cpus().length / 2)), 20_000);
    for (let i = 0; i < 20; i++) clients.push(TestClient.connect(`${gateway.listenUrl}?sessionId=burst-steady-${i}`));
    await Promise.all(clients.map((client) => client.next("Metadata", 15_000)));
    await pollUntil(() => loads.machines()[0]?.costPerSession != null, "a learned cost per session", 10_000, 50);
    const [machine] = loads.machines();
    expect(machine!.busy).toBeLessThan(0.9);
    expect(machine!.room).toBeGreaterThan(0);
    const rejectedBefore = gateway.gateway.state.rejections.transcriber_overloaded ?? 0;

    // Forty at once, all before the next figure: without the projection the figure (under the mark) takes them all.
    const burst = Array.from({ length: 40 }, (_, i) => TestClient.connect(`${gateway.listenUrl}?sessionId=burst-${i}`));
    const outcomes = await Promise.allSettled(burst.map((client) => client.opened));
    const projected = loads.refusal("shared");
    const taken = burst.filter((_, i) => outcomes[i]!.status === "fulfilled");
    clients.push(...taken);
    const refused = burst.length - taken.length;
    expect(refused).toBeGreaterThan(0);
    expect(taken.length).toBeGreaterThan(0);
    // What /stats said there was room for, give or take a figure that arrived during the burst.
    expect(Math.abs(taken.length - machine!.room!)).toBeLessThanOrEqual(3);
    expect(projected?.message).toContain("sessions opened since that figure and one more");
    expect(projected?.message).toContain("over HOST_CPU_MAX=0.9");
    expect((gateway.gateway.state.rejections.transcriber_overloaded ?? 0) - rejectedBefore).toBe(refused);

    // Every session taken, before the burst and in it, still echoes; none was cut.
    for (const client of clients) client.send(new Uint8Array(10));
    await Promise.all(clients.map((client) => client.until(() => client.binary.length === 1, 5_000, "an echo")));
  } finally {
    await stopBurning();
    for (const client of clients) client.send({ type: "CloseStream" });
    const codes = await Promise.all(clients.map((client) => client.closed));
    await gateway.stop();
    expect(codes.every(({ code }) => code === 1000)).toBe(true);
  }
  // No count drifted: every session routed (taken or refused) was given back.
  expect(gateway.gateway.state.store.load("shared")).toBe(0);
}, 60_000);
