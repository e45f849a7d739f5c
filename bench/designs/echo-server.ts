/**
 * A bare Bun echo WebSocket server on PORT, or on the Unix socket UNIX: the upstream of the design comparison.
 * On `/v1/mux` it reads batches (transcriber/mux-wire.ts) and echoes every frame, batched again per turn.
 */
import { Batcher, readBatch, RECORD } from "../../transcriber/mux-wire.ts";

const where = process.env.UNIX ? { unix: process.env.UNIX } : { port: Number(process.env.PORT), hostname: "127.0.0.1" };
Bun.serve<{ isMux: boolean; mux?: Batcher }>({
  ...where,
  fetch: (request, server) => {
    const isMux = new URL(request.url).pathname === "/v1/mux";
    return server.upgrade(request, { data: { isMux } }) ? undefined : new Response("ok\n");
  },
  websocket: {
    open(ws) {
      if (ws.data.isMux) ws.data.mux = new Batcher((batch) => ws.send(batch));
    },
    message(ws, message) {
      if (typeof message === "string") return;
      if (ws.data.mux) readBatch(message, (_kind, id, frame) => ws.data.mux!.add(RECORD.binary, id, frame));
      else ws.send(message);
    },
  },
});
