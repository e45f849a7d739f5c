/**
 * The smallest relay each upstream design allows, to tell what the design costs from what the gateway adds:
 * DESIGN=ws (Bun's WebSocket client over loopback TCP), tcp (Bun.connect with hand-written RFC 6455 framing),
 * wsuds (Bun's WebSocket client over a Unix socket, `ws+unix://`), mux (one WebSocket over the Unix socket
 * for every session, the frames of one event-loop turn batched into one message: the gateway's design, with its
 * wire format, transcriber/mux-wire.ts). Listens on PORT; upstream at UP or UNIX.
 */
import { Batcher, readBatch, RECORD } from "../../transcriber/mux-wire.ts";
const design = process.env.DESIGN ?? "ws";
const upstreamPort = Number(process.env.UP);
const unixPath = process.env.UNIX ?? "";

interface Session {
  upstream?: { send(frame: Uint8Array): void };
  queue: Uint8Array[];
}

/** A client frame with a zero masking key (XOR with zero leaves the payload as is; loopback only). */
function maskedFrame(payload: Uint8Array): Uint8Array {
  const length = payload.byteLength;
  const header = length < 126 ? 2 : 4;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = 0x82;
  if (length < 126) frame[1] = 0x80 | length;
  else [frame[1], frame[2], frame[3]] = [0x80 | 126, length >> 8, length & 255];
  frame.set(payload, header + 4);
  return frame;
}

function openWebSocket(session: Session, client: { send(data: Uint8Array): unknown }): void {
  const url = design === "wsuds" ? `ws+unix://${unixPath}:/v1/listen` : `ws://127.0.0.1:${upstreamPort}/v1/listen`;
  const upstream = new WebSocket(url);
  upstream.binaryType = "arraybuffer";
  upstream.onopen = () => {
    session.upstream = { send: (frame) => upstream.send(frame) };
    for (const frame of session.queue) upstream.send(frame);
  };
  upstream.onmessage = (event) => client.send(new Uint8Array(event.data as ArrayBuffer));
}

function openRawTcp(session: Session, client: { send(data: Uint8Array): unknown }): void {
  let pending: Uint8Array = new Uint8Array(0);
  let upgraded = false;
  void Bun.connect({
    hostname: "127.0.0.1",
    port: upstreamPort,
    socket: {
      open(socket) {
        socket.write(
          "GET /v1/listen HTTP/1.1\r\nHost: upstream\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
      },
      data(socket, chunk) {
        if (!upgraded) {
          const end = Buffer.from(chunk).indexOf("\r\n\r\n");
          if (end < 0) return;
          upgraded = true;
          session.upstream = { send: (frame) => socket.write(maskedFrame(frame)) };
          for (const frame of session.queue) socket.write(maskedFrame(frame));
          chunk = chunk.subarray(end + 4);
        }
        const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
        let at = 0;
        while (data.length - at >= 2) {
          let length = data[at + 1]! & 127;
          let header = 2;
          if (length === 126) {
            if (data.length - at < 4) break;
            length = (data[at + 2]! << 8) | data[at + 3]!;
            header = 4;
          }
          if (data.length - at < header + length) break;
          client.send(data.subarray(at + header, at + header + length));
          at += header + length;
        }
        pending = at < data.length ? data.slice(at) : new Uint8Array(0);
      },
    },
  });
}

/** mux: the one shared upstream, the clients by session number, and the batch being filled this turn. */
const clients: Array<{ send(data: Uint8Array): unknown }> = [];
let mux: WebSocket | undefined;
let muxOpen: Promise<void> | undefined;
const toUpstream = new Batcher((batch) => mux!.send(batch));

function openMux(session: Session, client: { send(data: Uint8Array): unknown }): void {
  const index = clients.push(client) - 1;
  muxOpen ??= new Promise<void>((resolve) => {
    mux = new WebSocket(`ws+unix://${unixPath}:/v1/mux`);
    mux.binaryType = "arraybuffer";
    mux.onopen = () => resolve();
    mux.onmessage = (event) => readBatch(new Uint8Array(event.data as ArrayBuffer), (_kind, id, frame) => clients[id]?.send(frame));
  });
  void muxOpen.then(() => {
    session.upstream = { send: (frame) => toUpstream.add(RECORD.binary, index, frame) };
    for (const frame of session.queue) toUpstream.add(RECORD.binary, index, frame);
  });
}

Bun.serve({
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  fetch: (request, server) => (server.upgrade(request, { data: { queue: [] } }) ? undefined : new Response("no\n")),
  websocket: {
    data: {} as Session,
    open(ws) {
      if (design === "tcp") openRawTcp(ws.data, ws);
      else if (design === "mux") openMux(ws.data, ws);
      else openWebSocket(ws.data, ws);
    },
    message(ws, message) {
      if (typeof message === "string") return;
      const session = ws.data;
      if (session.upstream) session.upstream.send(message);
      else session.queue.push(new Uint8Array(message));
    },
  },
});
