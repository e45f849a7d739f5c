/**
 * The cluster soak's clients: sessions through the load balancer that stream numbered frames to echo
 * transcribers and check that every one comes back in order, with the bounds a count of open sessions must lie
 * within at any instant (see `OpenBounds`) and the tally the report prints.
 */
import { EchoSession } from "../../test/cluster/echo-session.ts";

/**
 * At any instant the cluster's count of open sessions lies between `steady` (sessions whose Metadata came and
 * that have not begun to close) and `live` (sockets whose close has not been seen, connecting ones included).
 */
export interface OpenBounds {
  steady: number;
  live: number;
}

/** What the soak's clients saw, for the report. */
export interface LoadTally {
  sessions: number;
  /** Upgrades refused, or sockets cut before their Metadata (a gateway killed, a start during the outage). */
  refused: number;
  framesSent: number;
  framesEchoed: number;
  /** Frames not echoed by sessions that closed 1000 (must stay 0). */
  framesLost: number;
  closeCodes: Record<string, number>;
  /** Served sessions that did not close 1000: which gateway served them (Metadata `gateway`) and when they were open. */
  cuts: Array<{ id: string; gateway: string | undefined; code: number; openedAtMs: number; closedAtMs: number }>;
  problems: string[];
}

export function emptyTally(): LoadTally {
  return { sessions: 0, refused: 0, framesSent: 0, framesEchoed: 0, framesLost: 0, closeCodes: {}, cuts: [], problems: [] };
}

/** One session through `listenUrl`: frames every 50 ms for `lifeMs` once its Metadata came, then CloseStream. */
async function oneSession(listenUrl: string, id: string, lifeMs: number, bounds: OpenBounds, tally: LoadTally): Promise<void> {
  const session = new EchoSession(listenUrl, id);
  bounds.live++;
  let steady = false;
  const leaveSteady = () => {
    if (steady) bounds.steady--;
    steady = false;
  };
  void session.client.closed.then(() => {
    leaveSteady();
    bounds.live--;
  });
  const metadata = await Promise.race([session.metadata(15_000), session.client.closed.then(() => undefined)]).catch(() => undefined);
  const openedAtMs = performance.now();
  if (metadata && session.client.ws.readyState === WebSocket.OPEN) {
    steady = true;
    bounds.steady++;
    tally.sessions++;
    await session.start(50);
    await Promise.race([Bun.sleep(lifeMs), session.client.closed]);
  } else {
    tally.refused++;
  }
  leaveSteady();
  const outcome = await session.finish(15_000);
  tally.closeCodes[outcome.code] = (tally.closeCodes[outcome.code] ?? 0) + 1;
  tally.framesSent += outcome.sent;
  tally.framesEchoed += outcome.echoed;
  if (metadata && outcome.code !== 1000) {
    tally.cuts.push({ id, gateway: metadata.gateway, code: outcome.code, openedAtMs, closedAtMs: performance.now() });
  }
  if (outcome.code === -1) tally.problems.push(`session ${id} did not close within 15 s of CloseStream`);
  // A session a fault cut (1006 through the proxy, 1012) may lose what was in flight; a clean close may not.
  if (outcome.code === 1000 && (outcome.echoed < outcome.sent || outcome.outOfOrder)) {
    tally.framesLost += outcome.sent - outcome.echoed;
    tally.problems.push(`session ${id} closed 1000 with ${outcome.sent - outcome.echoed} of ${outcome.sent} frames not echoed in order`);
  }
}

/**
 * Keeps 1 to `most` sessions open through `listenUrl` until `stopAt` (performance.now()), over 12 session ids,
 * with a quiet spell now and then so pool members sleep and wake. Resolves once the last one closed.
 */
export async function runLoad(listenUrl: string, stopAt: number, most: number, bounds: OpenBounds, tally: LoadTally): Promise<void> {
  const running = new Set<Promise<void>>();
  let quietUntil = 0;
  for (let n = 0; performance.now() < stopAt; n++) {
    if (performance.now() > quietUntil && Math.random() < 0.01) quietUntil = performance.now() + 8000;
    if (performance.now() >= quietUntil && running.size < 1 + Math.floor(Math.random() * most)) {
      const p = oneSession(listenUrl, `soak-${n % 12}`, 1000 + Math.random() * 5000, bounds, tally).finally(() => running.delete(p));
      running.add(p);
    }
    await Bun.sleep(100);
  }
  await Promise.all(running);
}
