import { afterEach, describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { MuxPeer, type SessionPeer } from "../../transcriber/mux-server.ts";
import { pollUntil } from "../../test/wait.ts";
import { MuxLinks } from "./mux-link.ts";
import { type ClientSocket, Relay } from "./relay.ts";

/** A client socket whose send buffer the test controls (Bun's ServerWebSocket in production). */
class FakeClient implements ClientSocket {
  sent: Array<string | Uint8Array> = [];
  closed: { code?: number; reason?: string } | undefined;
  bufferedBytes = 0;
  send(data: string | Uint8Array): number {
    this.sent.push(data);
    return 1;
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }
  getBufferedAmount(): number {
    return this.bufferedBytes;
  }
  errors(): Array<{ code: string; message: string }> {
    return this.sent
      .filter((m): m is string => typeof m === "string")
      .map((m) => JSON.parse(m))
      .filter((m) => m.type === "Error");
  }
}

/** A client socket that can stop being read, as Bun's ServerWebSocket can. */
class PausableClient extends FakeClient {
  pauses = 0;
  resumes = 0;
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
}

interface Session {
  peer: SessionPeer;
  link: ServerWebSocket<{ peer?: MuxPeer }>;
}

/**
 * A real transcriber link: Bun.serve on `/v1/mux` with the transcriber's own MuxPeer, whose sessions record
 * what they receive; `behaviour` acts on each new session (its peer) or on its link (the socket).
 */
function upstreamServer(behaviour: (session: Session) => void) {
  const received: Array<string | Uint8Array> = [];
  const sockets: Array<ServerWebSocket<{ peer?: MuxPeer }>> = [];
  const server = Bun.serve<{ peer?: MuxPeer }>({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (srv.upgrade(req, { data: {} }) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      open(ws) {
        sockets.push(ws);
        ws.data.peer = new MuxPeer((batch) => ws.send(batch), {
          decodesOpus: false,
          maxFrameBytes: 64 * 1024,
          startSession: (_params, _opus, peer) => {
            behaviour({ peer, link: ws });
            return {
              onText: (text) => received.push(text),
              onBinary: (frame) => received.push(new Uint8Array(frame)),
              shutDown: async () => undefined,
              dispose: () => undefined,
            };
          },
        });
      },
      message(ws, message) {
        ws.data.peer!.receive(message as Uint8Array);
      },
      close(ws) {
        ws.data.peer!.dispose();
      },
    },
  });
  servers.push(server);
  const links = new MuxLinks(2000);
  linkSets.push(links);
  const url = `ws://127.0.0.1:${server.port}/v1/mux`;
  return { url, attach: links.attach("c1", url, QUERY), received, sockets };
}

const QUERY = "encoding=opus&sample_rate=48000&channels=1&session_id=relay-test";
const servers: Array<ReturnType<typeof Bun.serve>> = [];
const linkSets: MuxLinks[] = [];
afterEach(() => {
  for (const links of linkSets.splice(0)) links.closeAll();
  for (const server of servers.splice(0)) server.stop(true);
});

function relayWith(client: FakeClient, limit = 64 * 1024, lossAccount?: () => Promise<string | undefined>) {
  const finishes: number[] = [];
  let lost = 0;
  let stopping = 0;
  const relay = new Relay({
    client,
    backpressureLimitBytes: limit,
    onActivity: () => {},
    onUpstreamLost: () => {
      lost++;
      return lossAccount?.();
    },
    onContainerStopping: () => stopping++,
    onFinish: (code) => finishes.push(code),
  });
  return { relay, finishes, lost: () => lost, stopping: () => stopping };
}

describe("relay", () => {
  test("frames sent before the transcriber accepts are delivered in order once it does, untouched", async () => {
    const upstream = upstreamServer(() => {});
    const client = new FakeClient();
    const { relay } = relayWith(client);
    relay.fromClient(new Uint8Array([1, 2, 3]));
    relay.fromClient('{"type":"KeepAlive"}');
    relay.fromClient(new Uint8Array([4]));
    await relay.connect(upstream.attach);
    relay.fromClient(new Uint8Array([5, 6]));
    await pollUntil(() => upstream.received.length === 4);
    expect(upstream.received).toEqual([new Uint8Array([1, 2, 3]), '{"type":"KeepAlive"}', new Uint8Array([4]), new Uint8Array([5, 6])]);
    expect(relay.bytesIn).toBe(3 + 20 + 1 + 2);
  });

  test("audio piling up while the transcriber starts is bounded: past the limit the session closes 1013", () => {
    const client = new FakeClient();
    const { relay, finishes } = relayWith(client, 16 * 1024);
    for (let i = 0; i < 20; i++) relay.fromClient(new Uint8Array(1024));
    expect(client.closed?.code).toBe(1013);
    expect(client.errors()[0]?.code).toBe("transcriber_backpressure");
    expect(finishes).toEqual([1013]);
    relay.fromClient(new Uint8Array(1024));
    expect(relay.bytesIn).toBeLessThanOrEqual(17 * 1024);
  });

  test("a client that does not read is closed with 1008 instead of buffering without bound", async () => {
    const upstream = upstreamServer(({ peer }) => peer.send("x".repeat(1000)));
    const client = new FakeClient();
    client.bufferedBytes = 64 * 1024 + 1;
    const { relay, finishes } = relayWith(client);
    await relay.connect(upstream.attach);
    await pollUntil(() => finishes.length > 0);
    expect(client.closed?.code).toBe(1008);
    expect(finishes).toEqual([1008]);
  });

  test("a transcriber that does not read is closed with 1013 once the limit is queued", async () => {
    const upstream = upstreamServer(({ link }) => link.pause());
    const client = new FakeClient();
    const { relay, finishes } = relayWith(client, 256 * 1024);
    await relay.connect(upstream.attach);
    const frame = new Uint8Array(16 * 1024);
    let sentBytes = 0;
    while (!relay.closed && sentBytes < 256 * 1024 * 1024) {
      relay.fromClient(frame);
      sentBytes += frame.byteLength;
      if (sentBytes % (1024 * 1024) === 0) await Bun.sleep(1);
    }
    expect(client.closed?.code).toBe(1013);
    expect(client.errors()[0]?.code).toBe("transcriber_backpressure");
    expect(finishes).toEqual([1013]);
    // The kernel's socket buffers take some; the relay itself stops at its limit, far below what was offered.
    expect(sentBytes).toBeLessThan(64 * 1024 * 1024);
  });

  test("an upstream that vanishes without a close frame closes the client 1012 and reports the loss", async () => {
    const upstream = upstreamServer(() => {});
    const client = new FakeClient();
    const { relay, finishes, lost } = relayWith(client);
    await relay.connect(upstream.attach);
    await pollUntil(() => upstream.sockets.length === 1);
    upstream.sockets[0]!.terminate();
    await pollUntil(() => finishes.length > 0);
    expect(client.closed?.code).toBe(1012);
    expect(client.errors()[0]?.code).toBe("container_stopped");
    expect(lost()).toBe(1);
  });

  test("a lost upstream's account of why (an engine host lost) reaches the client's Error; none in time, the plain one", async () => {
    for (const [account, expected] of [
      [
        async () => "engine host h2 lost: not answering",
        "the transcriber container stopped (engine host h2 lost: not answering); reconnect",
      ],
      [() => new Promise<undefined>(() => {}), "the transcriber container stopped; reconnect"],
    ] as const) {
      const upstream = upstreamServer(() => {});
      const client = new FakeClient();
      const { relay, finishes } = relayWith(client, 64 * 1024, account);
      await relay.connect(upstream.attach);
      await pollUntil(() => upstream.sockets.length === 1);
      upstream.sockets[0]!.terminate();
      await pollUntil(() => finishes.length > 0, "the close", 5_000);
      expect(client.closed?.code).toBe(1012);
      expect(client.errors()[0]?.message).toBe(expected);
    }
  });

  test("after the client's CloseStream, the transcriber's 1000 reaches the client as 1000", async () => {
    let session: SessionPeer | undefined;
    const upstream = upstreamServer(({ peer }) => (session = peer));
    const client = new FakeClient();
    const { relay, finishes, stopping } = relayWith(client);
    await relay.connect(upstream.attach);
    relay.fromClient('{"type":"CloseStream"}');
    await pollUntil(() => upstream.received.length === 1 && session);
    session!.close(1000, "stream closed");
    await pollUntil(() => finishes.length > 0);
    expect(client.closed).toEqual({ code: 1000, reason: "stream closed" });
    expect(client.errors()).toEqual([]);
    expect(stopping()).toBe(0);
  });

  test("a 1000 the client did not ask for is a stopped container to it: Error container_stopped, then 1012", async () => {
    const upstream = upstreamServer(({ peer }) => peer.close(1000, "server shutting down"));
    const client = new FakeClient();
    const { relay, finishes, stopping } = relayWith(client);
    await relay.connect(upstream.attach);
    await pollUntil(() => finishes.length > 0);
    expect(client.errors().map((e) => e.code)).toEqual(["container_stopped"]);
    expect(client.closed?.code).toBe(1012);
    expect(stopping()).toBe(1);
  });

  test("a transcriber's shutdown (its Error, then 1012) is passed on as it is and reported", async () => {
    const notice = '{"type":"Error","code":"container_stopped","message":"the transcriber is shutting down; reconnect to go on"}';
    const upstream = upstreamServer(({ peer }) => {
      peer.send(notice);
      peer.close(1012, "server shutting down");
    });
    const client = new FakeClient();
    const { relay, finishes, stopping } = relayWith(client);
    await relay.connect(upstream.attach);
    await pollUntil(() => finishes.length > 0);
    expect(client.sent).toEqual([notice]);
    expect(client.closed).toEqual({ code: 1012, reason: "server shutting down" });
    expect(stopping()).toBe(1);
  });

  test("the gateway's drain asks the transcriber for CloseStream, and its 1000 reaches the client as Error gateway_shutdown and 1001", async () => {
    let session: SessionPeer | undefined;
    const upstream = upstreamServer(({ peer }) => (session = peer));
    const client = new FakeClient();
    const { relay, finishes } = relayWith(client);
    await relay.connect(upstream.attach);
    relay.drain();
    await pollUntil(() => upstream.received.length === 1 && session);
    expect(upstream.received).toEqual(['{"type":"CloseStream"}']);
    session!.close(1000, "stream closed");
    await pollUntil(() => finishes.length > 0);
    expect(client.errors().map((e) => e.code)).toEqual(["gateway_shutdown"]);
    expect(client.closed?.code).toBe(1001);
  });

  test("a drain while the transcriber is still being reached sends CloseStream after the audio queued before it", async () => {
    const upstream = upstreamServer(() => {});
    const client = new FakeClient();
    const { relay } = relayWith(client);
    relay.fromClient(new Uint8Array([1]));
    relay.drain();
    await relay.connect(upstream.attach);
    await pollUntil(() => upstream.received.length === 2);
    expect(upstream.received).toEqual([new Uint8Array([1]), '{"type":"CloseStream"}']);
  });

  test("a refused connection rejects and leaves the session open for another attempt", async () => {
    const client = new FakeClient();
    const { relay, finishes } = relayWith(client);
    relay.fromClient(new Uint8Array([9]));
    await expect(relay.connect(new MuxLinks().attach("none", "ws://127.0.0.1:1/v1/mux", QUERY))).rejects.toThrow(/refused the session/);
    expect(relay.closed).toBe(false);
    const upstream = upstreamServer(() => {});
    await relay.connect(upstream.attach);
    await pollUntil(() => upstream.received.length === 1);
    expect(upstream.received[0]).toEqual(new Uint8Array([9]));
    expect(finishes).toEqual([]);
  });

  test("a burst the transcriber has not taken yet pauses reading the client, which resumes once it drained", async () => {
    const upstream = upstreamServer(({ link }) => link.pause());
    const client = new PausableClient();
    const { relay, finishes } = relayWith(client, 256 * 1024);
    await relay.connect(upstream.attach);
    const frame = new Uint8Array(16 * 1024);
    for (let sent = 0; client.pauses === 0 && sent < 64 * 1024 * 1024; sent += frame.byteLength) {
      relay.fromClient(frame);
      if (sent % (1024 * 1024) === 0) await Bun.sleep(1);
    }
    expect(client.pauses).toBe(1);
    expect(relay.closed).toBe(false);
    upstream.sockets[0]!.resume();
    await pollUntil(() => client.resumes === 1);
    expect(relay.closed).toBe(false);
    expect(finishes).toEqual([]);
  });

  test("sessions paused on a backed-up link past their patience: the newest gives way (1013), the older ones keep going once it drains", async () => {
    const upstream = upstreamServer(({ link }) => link.pause());
    const sessions = [0, 1, 2].map(() => {
      const client = new PausableClient();
      return { client, ...relayWith(client, 256 * 1024) };
    });
    for (const { relay } of sessions) await relay.connect(upstream.attach); // one link: the oldest session first
    const [oldest, middle, newest] = sessions as [(typeof sessions)[0], (typeof sessions)[0], (typeof sessions)[0]];
    // Each client streams while it is read (not paused), as a live client does, into a transcriber that reads
    // nothing: the kernel's buffers fill, then the link's, and every session is paused.
    const frame = new Uint8Array(16 * 1024);
    const deadline = Date.now() + 12_000;
    while (!newest.relay.closed && Date.now() < deadline) {
      for (const { relay, client } of sessions) if (!relay.closed && client.pauses === client.resumes) relay.fromClient(frame);
      await Bun.sleep(2);
    }
    expect(newest.client.closed?.code).toBe(1013);
    expect(newest.client.errors()[0]).toMatchObject({ code: "transcriber_backpressure" });
    expect(newest.client.errors()[0]!.message).toContain("newest sessions give way first");
    expect([oldest.relay.closed, middle.relay.closed]).toEqual([false, false]);
    // The transcriber reads again: the backlog falls, nothing more is shed, and the older sessions are read again.
    upstream.sockets[0]!.resume();
    await pollUntil(
      () => oldest.client.pauses === oldest.client.resumes && middle.client.pauses === middle.client.resumes,
      "the older sessions to resume",
      5_000,
      10,
    );
    expect([oldest.relay.closed, middle.relay.closed]).toEqual([false, false]);
    expect([oldest.finishes, middle.finishes, newest.finishes]).toEqual([[], [], [1013]]);
  }, 20_000);

  test("the session finishes exactly once however many ways it ends", async () => {
    const upstream = upstreamServer(() => {});
    const client = new FakeClient();
    const { relay, finishes } = relayWith(client);
    await relay.connect(upstream.attach);
    relay.clientClosed(1000, "bye");
    relay.fail(1011, "container_failed", "late failure");
    relay.end(1001, "shutdown");
    await Bun.sleep(50);
    expect(finishes).toEqual([1000]);
    expect(client.sent).toEqual([]);
  });
});
