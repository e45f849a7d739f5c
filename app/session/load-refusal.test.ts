import { expect, test } from "bun:test";
import { TestClient } from "../../test/client.ts";
import { startTranscriber } from "../../transcriber/server.ts";
import { pollUntil } from "../../test/wait.ts";
import { LOAD_REPORT_MAX_AGE_MS, TranscriberLoads } from "./load-refusal.ts";

test("a real transcriber's /health carries a load report the gateway files; an idle one is not refused", async () => {
  const transcriber = await startTranscriber({ port: 0, host: "127.0.0.1", env: { TRANSCRIBER_BACKEND: "echo", LOG_LEVEL: "silent" } });
  try {
    await Bun.sleep(1_100); // one complete meter window
    const body = await (await fetch(`http://127.0.0.1:${transcriber.port}/health`)).json();
    expect(body.load.accepting).toBe(true);
    const loads = new TranscriberLoads();
    loads.note("pool-0", body);
    expect(loads.refusal("pool-0")).toBeUndefined();
  } finally {
    await transcriber.stop();
  }
});

test("a fresh report that says not accepting refuses 503 with Retry-After; a stale or forgotten one does not", () => {
  let nowMs = 1_000;
  const loads = new TranscriberLoads(() => nowMs);
  loads.note("pool-1", { load: { eventLoopLagMs: 180, cpuShare: 0.97, accepting: false } });
  const refused = loads.refusal("pool-1");
  expect(refused).toMatchObject({ status: 503, reason: "transcriber_overloaded", retryAfterS: 2 });
  expect(refused!.message).toContain("event-loop lag 180 ms");
  nowMs += LOAD_REPORT_MAX_AGE_MS + 1;
  expect(loads.refusal("pool-1")).toBeUndefined();
  loads.note("pool-1", { load: { eventLoopLagMs: 180, cpuShare: 0.97, accepting: false } });
  loads.forget("pool-1");
  expect(loads.refusal("pool-1")).toBeUndefined();
  loads.note("pool-2", { status: "ok" }); // an older image without a load report
  expect(loads.refusal("pool-2")).toBeUndefined();
});

test("a link behind for a second refuses with its backlog named; a shorter backlog, or a report that refuses first, does not", () => {
  const loads = new TranscriberLoads();
  let backlog: { bytes: number; behindMs: number } | undefined = { bytes: 300 * 1024, behindMs: 999 };
  loads.watchLinks((id) => (id === "pool-0" ? backlog : undefined));
  expect(loads.refusal("pool-0")).toBeUndefined();
  backlog = { bytes: 300 * 1024, behindMs: 1_500 };
  const refused = loads.refusal("pool-0");
  expect(refused).toMatchObject({ status: 503, reason: "transcriber_overloaded", retryAfterS: 2 });
  expect(refused!.message).toBe("container pool-0 cannot keep up with another session (its link is behind: 300 KiB held for it for 1.5 s)");
  expect(loads.refusal("pool-1")).toBeUndefined(); // no link open
  loads.note("pool-0", { load: { eventLoopLagMs: 180, cpuShare: 0.5, accepting: false } });
  expect(loads.refusal("pool-0")!.message).toContain("event-loop lag 180 ms");
  backlog = undefined;
  loads.note("pool-0", { load: { eventLoopLagMs: 0, cpuShare: 0.1, accepting: true } });
  expect(loads.refusal("pool-0")).toBeUndefined();
});

test("a transcriber capped below a core (CONTAINER_CPUS) says it cannot keep up once its thread uses most of the cap", async () => {
  // A cap of 1 % of a core: echoing a flood of frames takes more than 85 % of that within a window.
  const transcriber = await startTranscriber({
    port: 0,
    host: "127.0.0.1",
    env: { TRANSCRIBER_BACKEND: "echo", LOG_LEVEL: "silent", CONTAINER_CPUS: "0.01" },
  });
  const client = TestClient.listen(`ws://127.0.0.1:${transcriber.port}`);
  try {
    await client.opened;
    const frame = new Uint8Array(1_000);
    let body: { load: { accepting: boolean; cpuShare: number } } | undefined;
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      for (let i = 0; i < 200; i++) client.send(frame);
      body = await (await fetch(`http://127.0.0.1:${transcriber.port}/health`)).json();
      if (!body!.load.accepting) break;
      await Bun.sleep(5);
    }
    expect(body?.load.accepting).toBe(false);
    expect(body!.load.cpuShare).toBeGreaterThan(0.0085);
    const loads = new TranscriberLoads();
    loads.note("pool-0", body);
    expect(loads.refusal("pool-0")?.message).toContain("cannot keep up");
  } finally {
    client.ws.close();
    await transcriber.stop();
  }
}, 20_000);

test("a machine busier than HOST_CPU_MAX refuses new sessions on it; one with no report yet only while every machine reporting is over it", () => {
  let max = 0.9;
  let nowMs = 1_000;
  const loads = new TranscriberLoads(
    () => (nowMs += 10),
    () => max,
  );
  const report = (busy: number, hostId: string) => ({
    load: { eventLoopLagMs: 2, cpuShare: 0.2, accepting: true, hostCpuBusy: busy, hostId },
  });
  loads.note("auto-0", report(0.97, "machine-a"));
  expect(loads.refusal("auto-0")).toMatchObject({ status: 503, reason: "transcriber_overloaded", retryAfterS: 2 });
  expect(loads.refusal("auto-0")!.message).toBe(
    "container auto-0 cannot keep up with another session (its machine's CPU is 97 % busy, over HOST_CPU_MAX=0.9)",
  );
  // A container just started (no report yet): refused while the only machine reporting is full...
  expect(loads.refusal("auto-1")!.message).toContain("no machine has CPU for another session (container auto-1 has no load report yet");
  // ...and taken once another machine reports room (it may be placed there).
  loads.note("auto-2", report(0.4, "machine-b"));
  expect(loads.refusal("auto-1")).toBeUndefined();
  expect(loads.refusal("auto-2")).toBeUndefined();
  expect(loads.refusal("auto-0")).toBeDefined();
  // Two transcribers on one machine: its freshest figure is the one that counts for a container without a report.
  loads.note("auto-2", report(0.95, "machine-b"));
  loads.note("auto-3", report(0.93, "machine-b"));
  expect(loads.refusal("auto-1")!.message).toContain("every machine reporting would be 93 % busy or more with it");
  // At or under the mark, and with the mark at 1 (off), nothing is refused for the machine.
  loads.note("auto-0", report(0.9, "machine-a"));
  expect(loads.refusal("auto-0")).toBeUndefined();
  max = 1;
  loads.note("auto-0", report(1, "machine-a"));
  expect(loads.refusal("auto-0")).toBeUndefined();
  expect(loads.refusal("auto-1")).toBeUndefined();
});

test("the machine's figure is read only when it is a number; a report's own refusal comes first", () => {
  const loads = new TranscriberLoads(Date.now, () => 0.5);
  loads.note("pool-0", { load: { eventLoopLagMs: 0, cpuShare: 0.1, accepting: true, hostCpuBusy: "0.99", hostId: 7 } });
  expect(loads.latest("pool-0")).toEqual({ eventLoopLagMs: 0, cpuShare: 0.1, accepting: true });
  expect(loads.refusal("pool-0")).toBeUndefined();
  loads.note("pool-0", { load: { eventLoopLagMs: 250, cpuShare: 0.3, accepting: false, hostCpuBusy: 0.99, hostId: "m" } });
  expect(loads.refusal("pool-0")!.message).toContain("event-loop lag 250 ms");
});

test("a report full by count (every recognizer in use) is dropped when a session there ends; one full by lag is kept", () => {
  const loads = new TranscriberLoads();
  loads.note("shared", {
    load: { eventLoopLagMs: 0, cpuShare: 0.4, accepting: false, limit: "every recognizer is in use (LOCAL_MAX_SESSIONS=1)" },
  });
  expect(loads.refusal("shared")!.message).toContain("LOCAL_MAX_SESSIONS=1");
  loads.sessionEnded("shared");
  expect(loads.refusal("shared")).toBeUndefined();
  loads.note("shared", { load: { eventLoopLagMs: 300, cpuShare: 0.4, accepting: false } });
  loads.sessionEnded("shared");
  expect(loads.refusal("shared")!.message).toContain("event-loop lag 300 ms");
});

test("once a machine's cost per session is learned, sessions routed since its figure count: a burst is refused at the mark", () => {
  let nowMs = 0;
  const loads = new TranscriberLoads(
    () => nowMs,
    () => 0.85,
  );
  const sessions = new Map<string, number>([
    ["pool-0", 0],
    ["pool-1", 0],
  ]);
  loads.watchSessions((id) => sessions.get(id) ?? 0);
  const report = (busy: number) => ({ load: { eventLoopLagMs: 2, cpuShare: 0.2, accepting: true, hostCpuBusy: busy, hostId: "m" } });
  const both = (busy: number) => {
    loads.note("pool-0", report(busy));
    loads.note("pool-1", report(busy));
  };
  both(0.05); // idle
  // 50 sessions on each for a few seconds: the machine at 35 %, 0.3 % per session over its idle 5 %.
  sessions.set("pool-0", 50).set("pool-1", 50);
  for (let i = 0; i < 4; i++) {
    nowMs += 1_000;
    both(0.35);
  }
  expect(loads.machines()).toEqual([
    { machine: "m", busy: 0.35, sessions: 100, costPerSession: expect.any(Number), withOneMore: expect.any(Number), room: 166 },
  ]);
  expect(loads.machines()[0]!.costPerSession).toBeCloseTo(0.003, 6);
  // A burst routed before the next figure: each session is counted when routed, and the figure (35 %) alone would take all.
  let taken = 0;
  for (let i = 0; i < 300; i++) {
    const id = i % 2 ? "pool-1" : "pool-0";
    if (loads.refusal(id)) continue;
    sessions.set(id, sessions.get(id)! + 1);
    taken++;
  }
  // 0.35 + (n + 1) x 0.003 <= 0.85 for the n-th: 166 more, the room /stats said.
  expect(taken).toBe(166);
  expect(loads.machines()[0]).toMatchObject({ sessions: 266, room: 0 });
  const refused = loads.refusal("pool-0")!;
  expect(refused).toMatchObject({ status: 503, reason: "transcriber_overloaded", retryAfterS: 2 });
  expect(refused.message).toBe(
    "container pool-0 cannot keep up with another session (its machine's CPU is 35 % busy, and with the 166 sessions opened since that figure and one more, at 0.30 % each, it would be 85 %, over HOST_CPU_MAX=0.85)",
  );
  // A container with no report yet is refused too: the one machine has no room with it.
  expect(loads.refusal("pool-2")!.message).toContain("every machine reporting would be 85 % busy or more with it");
  // Once the figure covers the burst (the machine at 80 %, the counts of before it aged out), what it says decides.
  for (let i = 0; i < 4; i++) {
    nowMs += 1_000;
    both(0.8);
  }
  expect(loads.refusal("pool-0")).toBeUndefined();
});

test("a transcriber's own thread: once its cost is learned from reports that carry their sessions, a burst is refused at its CPU mark", () => {
  let nowMs = 0;
  const loads = new TranscriberLoads(() => nowMs);
  let routed = 0;
  loads.watchSessions(() => routed);
  // A quarter-core cap: the mark is 0.2125 of a core; each session takes 0.002 of a core.
  const report = (sessions: number) => ({
    load: { eventLoopLagMs: 3, cpuShare: 0.01 + sessions * 0.002, accepting: true, cpuMax: 0.2125, sessions },
  });
  loads.note("auto-0", report(0));
  for (const sessions of [20, 40, 60]) {
    routed = sessions;
    nowMs += 1_000;
    loads.note("auto-0", report(sessions));
  }
  expect(loads.refusal("auto-0")).toBeUndefined();
  // (0.2125 - 0.13) / 0.002 = 41 more than the 60 the report covers.
  expect(new TranscriberLoads().roomFor("auto-0")).toBeNull();
  expect(loads.roomFor("auto-0")).toBe(41);
  let taken = 0;
  while (!loads.refusal("auto-0")) {
    routed++;
    taken++;
  }
  expect(taken).toBe(41);
  expect(loads.roomFor("auto-0")).toBe(0);
  expect(loads.refusal("auto-0")!.message).toBe(
    "container auto-0 cannot keep up with another session (its CPU is 13 % of a core, and with the 41 sessions opened since that report and one more, at 0.20 % of a core each, it would be over its mark of 21 %)",
  );
  // A report without its sessions (an older image) projects nothing.
  loads.note("auto-1", { load: { eventLoopLagMs: 3, cpuShare: 0.13, accepting: true, cpuMax: 0.2125 } });
  expect(loads.roomFor("auto-1")).toBeNull();
  loads.forget("auto-0");
  expect(loads.roomFor("auto-0")).toBeNull();
});

test("a real transcriber's reports carry the sessions their CPU covers and its mark, and teach the gateway its thread's room", async () => {
  // A cap of 10 % of a core (its mark 8.5 %), and 20 sessions each echoing 20 frames a second: a fair share of it.
  const transcriber = await startTranscriber({
    port: 0,
    host: "127.0.0.1",
    env: { TRANSCRIBER_BACKEND: "echo", LOG_LEVEL: "silent", CONTAINER_CPUS: "0.1" },
  });
  const clients = Array.from({ length: 20 }, () => TestClient.listen(`ws://127.0.0.1:${transcriber.port}`));
  const frames = setInterval(() => {
    for (const client of clients) if (client.ws.readyState === WebSocket.OPEN) client.send(new Uint8Array(200));
  }, 50);
  try {
    await Promise.all(clients.map((client) => client.opened));
    let routed = 20;
    const loads = new TranscriberLoads();
    loads.watchSessions(() => routed);
    let body: { load: { sessions: number; cpuMax: number; cpuShare: number; accepting: boolean } } | undefined;
    await pollUntil(
      async () => {
        body = await (await fetch(`http://127.0.0.1:${transcriber.port}/health`)).json();
        loads.note("shared", body);
        return body!.load.accepting && loads.roomFor("shared") !== null;
      },
      "an accepting report of the 20 sessions that teaches a cost",
      10_000,
      300,
    );
    expect(body!.load.sessions).toBe(20);
    expect(body!.load.cpuMax).toBeCloseTo(0.085, 3);
    const room = loads.roomFor("shared")!;
    expect(room).toBeGreaterThanOrEqual(0);
    // The gateway routes that many more before the next report: the one after them is refused at the mark.
    routed += room;
    expect(loads.roomFor("shared")).toBe(0);
    expect(loads.refusal("shared")?.message).toContain(`with the ${room} sessions opened since that report and one more`);
    expect(loads.refusal("shared")?.message).toContain("it would be over its mark of 9 %");
  } finally {
    clearInterval(frames);
    for (const client of clients) client.ws.close();
    await transcriber.stop();
  }
}, 20_000);
