/**
 * The load generator, run as its own process (`bun bench/load/worker.ts`, its LoadSpec JSON on stdin) so that client and
 * gateway never share an event loop. Kept cheap per frame: one pre-built buffer per session, the send time
 * written into it, one 1 ms timer driving every session through a 20-slot ring.
 *
 * Modes: `echo` measures each frame's round trip from the timestamp in the echoed payload; `audio` sends the
 * given Opus packets in a loop and measures ping -> pong through the first hop (the gateway answers pings on
 * its own event loop, so the wait is what a frame waits there); `idle` only holds the sessions open.
 * Writes JSON lines on stdout: `{"event":"ready"}` once every session is open, `{"event":"measuring"}` when
 * the measured window starts, and `{"event":"result",...}` at the end.
 */
import { summarize } from "../stats.ts";
import type { AudioFigures, LoadResult, LoadSpec } from "./spec.ts";

/** The Opus packets audio mode sends are 20 ms each. */
const FRAME_MS = 20;

const spec = JSON.parse(await Bun.stdin.text()) as LoadSpec;
const periodMs = 1000 / spec.ratePerS;
const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

interface Session {
  ws: WebSocket;
  frame: Uint8Array;
  view: DataView;
  sent: number;
  received: number;
  texts: number;
  packet: number;
  closedCode: number | undefined;
  errors: string[];
  /** When the first frame went out: audio time 0 of the session timeline. */
  firstSentAt: number;
  /** Audio the closing Metadata said was heard (ms), once it came. */
  heardMs: number | undefined;
  closeSent: boolean;
}

const packets = (spec.packetsBase64 ?? []).map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
let samples = new Float64Array(1 << 16);
let sampleCount = 0;
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
let windowReceived = 0;

function record(rttMs: number, sentAt: number): void {
  if (sentAt < windowStart || sentAt >= windowEnd) return;
  windowReceived++;
  if (sampleCount === samples.length) {
    const grown = new Float64Array(samples.length * 2);
    grown.set(samples);
    samples = grown;
  }
  samples[sampleCount++] = rttMs;
}

/** Sessions that closed before CloseStream was sent, with their codes (closeStream runs only). */
const earlyCloses = new Map<Session, number>();
/** (arrival time, lag) of every final, for the lag figures. */
const finals: Array<[number, number]> = [];

/** audio mode: a final's lag behind its audio's end, and the closing Metadata's account of the audio heard. */
function noteText(session: Session, text: string): void {
  if (text.includes('"is_final":true')) {
    const final = JSON.parse(text) as { start: number; duration: number };
    const now = performance.now();
    finals.push([now, now - (session.firstSentAt + (final.start + final.duration) * 1000)]);
  } else if (session.closeSent && text.includes('"sha256"')) {
    // Only the Metadata after CloseStream: the gateway's opening Metadata carries a sha256 (of nothing) too.
    session.heardMs = (JSON.parse(text) as { duration: number }).duration * 1000;
  }
}

function audioFigures(list: Session[]): AudioFigures {
  const inWindow = finals.filter(([at]) => at >= windowStart && at < windowEnd);
  const third = (windowEnd - windowStart) / 3;
  const median = (xs: number[]) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const first = inWindow.filter(([at]) => at < windowStart + third).map(([, lag]) => lag);
  const last = inWindow.filter(([at]) => at >= windowEnd - third).map(([, lag]) => lag);
  let framesSent = 0;
  let framesHeard = 0;
  let framesLost = 0;
  let unanswered = 0;
  for (const session of list) {
    framesSent += session.sent;
    if (session.heardMs === undefined) {
      unanswered++;
      framesLost += session.sent;
      continue;
    }
    const heard = Math.round(session.heardMs / FRAME_MS);
    framesHeard += heard;
    framesLost += Math.max(0, session.sent - heard);
  }
  return {
    finalLagMs: summarize(Float64Array.from(inWindow.map(([, lag]) => lag))),
    finalLagGrowthMs: median(last) - median(first),
    framesSent,
    framesHeard,
    framesLost,
    unanswered,
  };
}

function open(url: string, index: number): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const frame = new Uint8Array(spec.payloadBytes);
    const session: Session = {
      ws,
      frame,
      view: new DataView(frame.buffer),
      sent: 0,
      received: 0,
      texts: 0,
      packet: index,
      closedCode: undefined,
      errors: [],
      firstSentAt: 0,
      heardMs: undefined,
      closeSent: false,
    };
    const timer = setTimeout(() => reject(new Error(`session ${index} did not open within ${spec.openTimeoutMs} ms`)), spec.openTimeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve(session);
    };
    ws.onopen = () => {
      if (!spec.awaitText) ready();
    };
    ws.onmessage = (event) => {
      const data = event.data;
      if (typeof data === "string") {
        session.texts++;
        if (session.texts === 1 && spec.awaitText) ready();
        if (data.includes('"Error"')) session.errors.push(data.slice(0, 200));
        else if (spec.mode === "audio") noteText(session, data);
        return;
      }
      session.received++;
      if (spec.mode === "echo") {
        const sentAt = new DataView(data as ArrayBuffer).getFloat64(0, true);
        record(performance.now() - sentAt, sentAt);
      }
    };
    ws.addEventListener("pong", (event) => {
      // With binaryType "arraybuffer" the pong's payload is an ArrayBuffer too.
      const data = (event as MessageEvent).data as ArrayBuffer | Uint8Array;
      const view = data instanceof ArrayBuffer ? new DataView(data) : new DataView(data.buffer as ArrayBuffer, data.byteOffset, 8);
      const sentAt = view.getFloat64(0, true);
      record(performance.now() - sentAt, sentAt);
    });
    ws.onclose = (event) => {
      session.closedCode = event.code;
      clearTimeout(timer);
      reject(new Error(`session ${index} closed ${event.code} before it was ready: ${event.reason}`));
    };
  });
}

async function openAll(): Promise<Session[]> {
  const sessions: Session[] = new Array(spec.urls.length);
  let next = 0;
  const lane = async () => {
    while (next < spec.urls.length) {
      const index = next++;
      sessions[index] = await open(spec.urls[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.openConcurrency, spec.urls.length) }, lane));
  return sessions;
}

function send(session: Session): void {
  const ws = session.ws;
  if (ws.readyState !== WebSocket.OPEN) return;
  if (session.sent++ === 0) session.firstSentAt = performance.now();
  if (spec.mode === "echo") {
    session.view.setFloat64(0, performance.now(), true);
    session.view.setUint32(8, session.sent, true);
    ws.send(session.frame);
    return;
  }
  ws.send(packets[session.packet++ % packets.length]!);
  if (session.sent % spec.pingEvery === 0) {
    session.view.setFloat64(0, performance.now(), true);
    (ws as unknown as { ping(data: Uint8Array): void }).ping(session.frame.subarray(0, 8));
  }
}

/** When the first open session closed before CloseStream was sent, ms since the first open. */
let firstCloseAtMs: number | undefined;
/** Keeps the close code of a session that opened (its opening handlers are done with). */
function watchClose(session: Session): void {
  session.ws.onclose = (event) => {
    session.closedCode = event.code;
    if (!session.closeSent) firstCloseAtMs ??= performance.now() - startedAt;
  };
}

// Every session sends once per period, spread evenly over 20 one-millisecond slots (or all in the first).
const slots = Math.max(1, Math.round(periodMs));
const ring: Session[][] = Array.from({ length: slots }, () => []);
const slotOf = (index: number) => (spec.pacing === "burst" ? 0 : Math.floor((index * slots) / spec.urls.length));
let t0 = 0;
let ticker: ReturnType<typeof setInterval> | undefined;
function startSending(): void {
  t0 = performance.now();
  windowStart = t0 + spec.warmupMs;
  windowEnd = windowStart + spec.durationMs;
  let doneSlots = 0;
  ticker = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / (periodMs / slots));
    for (; doneSlots <= due; doneSlots++) for (const session of ring[doneSlots % slots]!) send(session);
  }, 1);
}

let refused = 0;
/** rampPerS runs with retries: sessions refused at first and taken on a later try. */
let takenOnRetry = 0;
const refusedReasons: string[] = [];
/** rampPerS: opens at that pace while the open ones already send; refusals are counted. */
async function openRamped(): Promise<Session[]> {
  startSending();
  const opened: Session[] = [];
  const attempts = spec.urls.map(async (url, index) => {
    const burst = spec.burstFrom !== undefined && index >= spec.burstFrom;
    const dueMs = burst ? (spec.burstAtMs ?? 0) : (index * 1000) / spec.rampPerS!;
    await Bun.sleep(Math.max(0, t0 + dueMs - performance.now()));
    for (let attempt = 0; ; attempt++) {
      try {
        const session = await open(url, index);
        watchClose(session);
        opened.push(session);
        ring[slotOf(index)]!.push(session);
        if (attempt > 0) takenOnRetry++;
        return;
      } catch (error) {
        if (attempt < (spec.retries ?? 0)) {
          await Bun.sleep(spec.retryAfterMs ?? 2_000);
          continue;
        }
        refused++;
        if (refusedReasons.length < 5) refusedReasons.push((error as Error).message);
        return;
      }
    }
  });
  await Promise.all(attempts);
  return opened;
}

const startedAt = performance.now();
let sessions: Session[];
try {
  sessions = spec.rampPerS ? await openRamped() : await openAll();
} catch (error) {
  emit({ event: "result", ok: false, error: (error as Error).message });
  process.exit(0);
}
const openMs = performance.now() - startedAt;
if (!spec.rampPerS) {
  for (const session of sessions) watchClose(session);
  sessions.forEach((session, i) => ring[slotOf(i)]!.push(session));
}
emit({ event: "ready", sessions: sessions.length, openMs });

if (spec.mode !== "idle") {
  if (!ticker) startSending();
  await Bun.sleep(Math.max(0, windowStart - performance.now()));
  emit({ event: "measuring" });
  await Bun.sleep(spec.durationMs);
  clearInterval(ticker);
  await Bun.sleep(spec.drainMs);
  if (spec.closeStream) await closeStreams(sessions);
} else {
  await Bun.sleep(spec.holdMs);
}

/** Ends every session with CloseStream (noting which closed early first); waits for their closing Metadata. */
async function closeStreams(list: Session[]): Promise<void> {
  for (const session of list) {
    if (session.closedCode !== undefined) earlyCloses.set(session, session.closedCode);
    else {
      session.closeSent = true;
      session.ws.send('{"type":"CloseStream"}');
    }
  }
  const deadline = performance.now() + (spec.closeWaitMs ?? 8_000);
  while (performance.now() < deadline && list.some((s) => s.heardMs === undefined && !earlyCloses.has(s))) await Bun.sleep(50);
}

const closes: Record<string, number> = {};
let sent = 0;
let received = 0;
const errors: string[] = [];
for (const session of sessions) {
  sent += session.sent;
  received += session.received;
  const code = spec.closeStream ? earlyCloses.get(session) : session.closedCode;
  if (code !== undefined) closes[code] = (closes[code] ?? 0) + 1;
  errors.push(...session.errors);
}
const result: LoadResult = {
  event: "result",
  ok: true,
  sessions: sessions.length,
  openMs,
  sent,
  received,
  windowReceived,
  msgsPerS: windowReceived / (spec.durationMs / 1000),
  closedEarly: closes,
  errors: errors.slice(0, 5),
  errorCount: errors.length,
  texts: sessions.reduce((sum, s) => sum + s.texts, 0),
  latencyMs: summarize(samples.subarray(0, sampleCount)),
  ...(spec.closeStream ? { audio: audioFigures(sessions) } : {}),
  ...(spec.rampPerS ? { refused, takenOnRetry, refusedReasons, firstEarlyCloseMs: firstCloseAtMs } : {}),
};
for (const session of sessions) session.ws.close(1000, "bench done");
await Bun.sleep(200);
emit(result);
process.exit(0);
