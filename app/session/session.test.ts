/**
 * A session's transitions, each path to its end: whatever the way out, the routing assignment, the lease, the
 * per-IP slot and the session counts are released exactly once. The instance registry, the strategy, the
 * store, the relay and the book are the real ones over the in-memory FakeDriver; only the transcriber's
 * upstream is a stand-in here (listen.test.ts and the e2e tests run the same path against real transcribers).
 */
import { describe, expect, jest, test } from "bun:test";
import { FakeDriver } from "../../runtime/fake-driver.ts";
import { InstanceRegistry } from "../../runtime/instances.ts";
import { GatewayEvents } from "../events.ts";
import { createLogger } from "../log.ts";
import { SharedStrategy } from "../routing/shared.ts";
import type { SessionSelector } from "../routing/selector.ts";
import type { RoutingStrategy } from "../routing/strategy.ts";
import { MemoryRoutingStore } from "../routing/store.ts";
import { ConnectionCaps } from "../security/connection-caps.ts";
import { pollUntil } from "../../test/wait.ts";
import { SessionBook } from "./book.ts";
import type { Attach, Upstream, UpstreamEvents } from "./mux-link.ts";
import { parseListenQuery } from "./query.ts";
import type { ClientSocket } from "./relay.ts";
import { Session, type SessionDeps } from "./session.ts";

class Client implements ClientSocket {
  readonly sent: string[] = [];
  closes: number[] = [];
  send(data: string | Uint8Array): number {
    this.sent.push(String(data));
    return 1;
  }
  close(code = 1005): void {
    this.closes.push(code);
  }
  getBufferedAmount(): number {
    return 0;
  }
  types(): string[] {
    return this.sent.map((m) => JSON.parse(m).type);
  }
}

/** The transcriber side: `refuse` makes every attach reject; else each attach opens an upstream recorded here. */
class Upstreams {
  refuse = false;
  /** Holds attaches until release() when set. */
  private held: Promise<void> | undefined;
  private releaseHeld: (() => void) | undefined;
  readonly opened: Array<{ events: UpstreamEvents; sent: Array<string | Uint8Array>; closed?: number }> = [];
  attempts = 0;

  hold(): void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
  }

  release(): void {
    this.releaseHeld?.();
  }

  readonly attach = (): Attach => async (events) => {
    this.attempts++;
    await this.held;
    if (this.refuse) throw new Error("connection refused");
    const record: (typeof this.opened)[number] = { events, sent: [] };
    this.opened.push(record);
    const upstream: Upstream = {
      send: (frame) => void record.sent.push(frame),
      bufferedAmount: 0,
      close: (code) => void (record.closed = code),
    };
    return upstream;
  };
}

function rig(options: { upgradeDeadlineMs?: number } = {}) {
  const driver = new FakeDriver({ startDelayMs: 5 });
  const registry = new InstanceRegistry({ driver });
  const store = new MemoryRoutingStore();
  const strategy: RoutingStrategy = new SharedStrategy(registry, store, Date.now);
  const calls = { opened: 0, closed: 0 };
  const selector: SessionSelector = {
    mode: strategy.mode,
    route: (request) => strategy.route(request),
    opened: (sessionId, instanceId) => (calls.opened++, strategy.opened(sessionId, instanceId)),
    closed: (sessionId, instanceId) => (calls.closed++, strategy.closed(sessionId, instanceId)),
    coordinatorView: () => strategy.coordinatorView(),
  };
  const ips = new ConnectionCaps(undefined);
  const book = new SessionBook(new GatewayEvents());
  const upstreams = new Upstreams();
  const deps: SessionDeps = {
    selector: () => selector,
    registry,
    links: { attach: upstreams.attach },
    book,
    events: new GatewayEvents(),
    log: createLogger("silent"),
    acquireIp: (ip) => ips.acquire(ip),
    engineProblem: () => undefined,
    backpressureLimitBytes: () => 1024 * 1024,
    gatewayId: () => "gw-test",
    upgradeDeadlineMs: options.upgradeDeadlineMs,
  };
  const route = (sessionId = "s-1") => {
    const parsed = parseListenQuery(new URLSearchParams(`sessionId=${sessionId}`));
    if (!parsed.ok) throw new Error(parsed.message);
    const routed = Session.route(deps, { query: parsed.query, ip: "10.0.0.1" });
    if (!("session" in routed)) throw new Error(routed.message);
    return routed.session;
  };
  /** Everything the session held is released, once: nothing left in any count, each undo called once. */
  const expectReleasedOnce = () => {
    expect(calls.closed).toBe(calls.opened);
    expect(store.totalLoad()).toBe(0);
    expect(ips.total).toBe(0);
    expect(book.inFlight).toBe(0);
    expect(registry.connections("shared")).toBe(0);
  };
  return { driver, registry, store, calls, ips, book, upstreams, route, expectReleasedOnce };
}

describe("session", () => {
  test("routed, upgraded, leased, attached, finished: Metadata, frames through, one close counted", async () => {
    const r = rig();
    const session = r.route();
    expect(session.stateName).toBe("routed");
    expect([r.store.totalLoad(), r.ips.total, r.book.inFlight]).toEqual([1, 1, 1]);
    const client = new Client();
    session.opened(client);
    expect(session.stateName).toBe("upgraded");
    session.fromClient(new Uint8Array(10)); // queued until attached
    await pollUntil(() => session.stateName === "attached", "attached", 2000);
    expect(client.types()).toEqual(["Metadata"]);
    expect(r.upstreams.opened[0]!.sent.length).toBe(1);
    expect(r.registry.connections("shared")).toBe(1);
    session.clientClosed(1000, "done");
    session.clientClosed(1000, "again"); // a second close changes nothing
    expect(session.stateName).toBe("finished");
    r.expectReleasedOnce();
    expect(r.book.closeCodes).toEqual({ 1000: 1 });
    expect(r.book.sessionsTotal).toBe(1);
  });

  test("an upgrade that never opens is undone at its deadline; a late open is refused 1013 and counts nothing", () => {
    jest.useFakeTimers();
    try {
      const r = rig({ upgradeDeadlineMs: 1000 });
      const session = r.route();
      jest.advanceTimersByTime(999);
      expect(session.stateName).toBe("routed");
      jest.advanceTimersByTime(2);
      expect(session.stateName).toBe("finished");
      r.expectReleasedOnce();
      const late = new Client();
      session.opened(late);
      expect(late.closes).toEqual([1013]);
      r.expectReleasedOnce();
      expect(r.book.sessionsTotal).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  test("an invalid handshake is undone at once, and its deadline then does nothing", async () => {
    const r = rig({ upgradeDeadlineMs: 20 });
    const session = r.route();
    session.upgradeFailed();
    expect(session.stateName).toBe("finished");
    r.expectReleasedOnce();
    await Bun.sleep(40);
    r.expectReleasedOnce();
  });

  test("a container that cannot start: Error container_failed, 1013, everything released", async () => {
    const r = rig();
    r.driver.failNextStarts = 10;
    const session = r.route();
    const client = new Client();
    session.opened(client);
    await pollUntil(() => session.stateName === "finished", "finished", 2000);
    expect(client.types()).toEqual(["Error"]);
    expect(JSON.parse(client.sent[0]!).code).toBe("container_failed");
    expect(client.closes).toEqual([1013]);
    r.expectReleasedOnce();
    expect(r.book.closeCodes).toEqual({ 1013: 1 });
  });

  test("a transcriber that refuses twice: Metadata, Error transcriber_unreachable, 1013; both leases released", async () => {
    const r = rig();
    r.upstreams.refuse = true;
    const session = r.route();
    const client = new Client();
    session.opened(client);
    await pollUntil(() => session.stateName === "finished", "finished", 5000);
    expect(r.upstreams.attempts).toBe(2);
    expect(client.types()).toEqual(["Metadata", "Error"]);
    expect(JSON.parse(client.sent[1]!).code).toBe("transcriber_unreachable");
    expect(client.closes).toEqual([1013]);
    r.expectReleasedOnce();
  });

  test("a client that leaves while the container starts: the lease that arrives later is handed back", async () => {
    const r = rig();
    const open = r.driver.gate();
    const session = r.route();
    const client = new Client();
    session.opened(client);
    session.clientClosed(1001, "gone");
    expect(session.stateName).toBe("finished");
    open();
    await pollUntil(() => r.registry.get("shared").stateName === "running", "container up", 2000);
    await Bun.sleep(5);
    r.expectReleasedOnce();
    expect(r.upstreams.attempts).toBe(0);
    expect(client.sent).toEqual([]);
  });

  test("a client that leaves while the upstream opens: the upstream is closed, the lease released once", async () => {
    const r = rig();
    r.upstreams.hold();
    const session = r.route();
    session.opened(new Client());
    await pollUntil(() => session.stateName === "leased", "leased", 2000);
    session.clientClosed(1000, "gone");
    r.upstreams.release();
    await pollUntil(() => r.upstreams.opened.length === 1, "upstream opened", 2000);
    await Bun.sleep(5);
    expect(r.upstreams.opened[0]!.closed).toBe(1000);
    r.expectReleasedOnce();
  });

  test("a container crash while attached: Error container_stopped, 1012, released once; another session holds its own", async () => {
    const r = rig();
    const bystander = r.route("other");
    bystander.opened(new Client());
    const session = r.route("victim");
    const client = new Client();
    session.opened(client);
    await pollUntil(() => session.stateName === "attached" && bystander.stateName === "attached", "attached", 2000);
    expect(r.registry.connections("shared")).toBe(2);
    r.driver.crash(r.registry.get("shared").containerId!);
    await pollUntil(() => session.stateName === "finished" && bystander.stateName === "finished", "both ended", 2000);
    expect(client.types()).toEqual(["Metadata", "Error"]);
    expect(JSON.parse(client.sent[1]!).code).toBe("container_stopped");
    expect(client.closes).toEqual([1012]);
    r.expectReleasedOnce();
    expect(r.book.closeCodes).toEqual({ 1012: 2 });
  });
});
